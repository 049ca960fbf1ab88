"""Cases (§10): customer issues, optionally on an account, with contacts, assignees, teams
and tags like every sales record."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Boolean, Computed, Date, ForeignKey, Index, String, Text, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.db import Base
from crm.models.records import SalesRecord, link_table
from crm.models.sales import Account, Contact


class Case(SalesRecord, Base):
    __tablename__ = "cases"

    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="New")
    priority: Mapped[str] = mapped_column(String(16), default="Normal")
    case_type: Mapped[str | None] = mapped_column(String(64), default=None)
    # What the case-insensitive case_type filter compares (as leads.source_ci). Never loaded.
    case_type_ci: Mapped[str | None] = mapped_column(
        String(64), Computed("lower(case_type)"), deferred=True, deferred_raiseload=True
    )
    # A case outlives its account: deleting the account unlinks it.
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="SET NULL"), default=None, index=True
    )
    closed_on: Mapped[date | None] = mapped_column(Date, default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)

    account: Mapped[Account | None] = relationship(lazy="raise")
    contacts: Mapped[list[Contact]] = relationship(
        secondary=link_table("cases", "contacts", "contacts", "contact_id"),
        order_by="(Contact.created_on, Contact.id)",
        lazy="raise",
    )

    __table_args__ = (
        Index("uq_cases_org_id_name_ci", "org_id", func.lower(name), unique=True),
        Index("ix_cases_org_id_created_on_id", "org_id", "created_on", "id"),
        Index("ix_cases_org_id_status_created_on_id", "org_id", "status", "created_on", "id"),
        Index("ix_cases_org_id_priority_created_on_id", "org_id", "priority", "created_on", "id"),
        Index(
            "ix_cases_org_id_case_type_ci_created_on_id",
            "org_id",
            "case_type_ci",
            "created_on",
            "id",
        ),
    )
