"""Tasks (§11): to-dos with a due date, optionally on an account, with contacts, assignees,
teams and tags like every sales record."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String, Text, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.db import Base
from crm.models.records import SalesRecord, link_table
from crm.models.sales import Account, Contact


class Task(SalesRecord, Base):
    __tablename__ = "tasks"

    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="New")
    priority: Mapped[str] = mapped_column(String(16), default="Normal")
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    # A task outlives its account: deleting the account unlinks it (§11.2).
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="SET NULL"), default=None, index=True
    )
    description: Mapped[str | None] = mapped_column(Text, default=None)

    account: Mapped[Account | None] = relationship(lazy="raise")
    contacts: Mapped[list[Contact]] = relationship(
        secondary=link_table("tasks", "contacts", "contacts", "contact_id"),
        order_by="(Contact.created_on, Contact.id)",
        lazy="raise",
    )

    __table_args__ = (
        Index("uq_tasks_org_id_title_ci", "org_id", func.lower(title), unique=True),
        Index("ix_tasks_org_id_created_on_id", "org_id", "created_on", "id"),
        Index("ix_tasks_org_id_status_created_on_id", "org_id", "status", "created_on", "id"),
        Index("ix_tasks_org_id_priority_created_on_id", "org_id", "priority", "created_on", "id"),
        Index("ix_tasks_org_id_due_date_created_on_id", "org_id", "due_date", "created_on", "id"),
    )
