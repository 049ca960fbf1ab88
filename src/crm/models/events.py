"""Events (§12): calls, meetings and tasks in the calendar, one row per event. A recurring
event keeps its rule (weekdays between ``start_date`` and ``end_date``) and its occurrences
are computed when asked for (crm.events.schedule), not stored one row each."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import JSON, Boolean, Date, Index, String, Text, Time, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.db import Base
from crm.models.records import SalesRecord, link_table
from crm.models.sales import Contact


class Event(SalesRecord, Base):
    __tablename__ = "events"

    name: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16), default=None)
    start_date: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_date: Mapped[date] = mapped_column(Date)
    end_time: Mapped[time | None] = mapped_column(Time, default=None)
    # Weekday names (Monday ... Sunday) a recurring event happens on, in week order.
    recurring_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)

    contacts: Mapped[list[Contact]] = relationship(
        secondary=link_table("events", "contacts", "contacts", "contact_id"),
        order_by="(Contact.created_on, Contact.id)",
        lazy="raise",
    )

    __table_args__ = (
        Index("uq_events_org_id_name_ci", "org_id", func.lower(name), unique=True),
        Index("ix_events_org_id_created_on_id", "org_id", "created_on", "id"),
        Index("ix_events_org_id_status_created_on_id", "org_id", "status", "created_on", "id"),
        Index(
            "ix_events_org_id_event_type_created_on_id", "org_id", "event_type", "created_on", "id"
        ),
        # Range queries look for events whose span meets a window.
        Index("ix_events_org_id_start_date_end_date", "org_id", "start_date", "end_date"),
    )
