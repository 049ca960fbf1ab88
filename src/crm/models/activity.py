"""Comments and attachments, one implementation for every record type (§16).

Each row points at exactly one parent through a real foreign key column per record type
(``account_id``, ``lead_id`` ...), so deleting a parent removes its comments and files in
the database, and a lead conversion can re-point them in one UPDATE. ``PARENT_COLUMNS``
names the columns; adding a record type adds a column there and a migration.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from crm.core.clock import utcnow
from crm.core.concurrency import Versioned
from crm.core.db import Base, CreatedBy, Timestamps, UTCDateTime, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned

# record type (the API's module name, singular) -> its table
PARENT_TABLES: dict[str, str] = {
    "account": "accounts",
    "contact": "contacts",
    "lead": "leads",
    "opportunity": "opportunities",
    "case": "cases",
    "task": "tasks",
    "event": "events",
    "invoice": "invoices",
}


def _exactly_one_parent() -> str:
    columns = [f"(CASE WHEN {kind}_id IS NULL THEN 0 ELSE 1 END)" for kind in PARENT_TABLES]
    return " + ".join(columns) + " = 1"


class _HasParent:
    @declared_attr
    def account_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(
            Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), default=None, index=True
        )

    @declared_attr
    def contact_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(
            Uuid, ForeignKey("contacts.id", ondelete="CASCADE"), default=None, index=True
        )

    @declared_attr
    def lead_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(
            Uuid, ForeignKey("leads.id", ondelete="CASCADE"), default=None, index=True
        )

    @declared_attr
    def opportunity_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(
            Uuid, ForeignKey("opportunities.id", ondelete="CASCADE"), default=None, index=True
        )

    @declared_attr
    def case_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(
            Uuid, ForeignKey("cases.id", ondelete="CASCADE"), default=None, index=True
        )

    @declared_attr
    def task_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(
            Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), default=None, index=True
        )

    @declared_attr
    def event_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(
            Uuid, ForeignKey("events.id", ondelete="CASCADE"), default=None, index=True
        )

    @declared_attr
    def invoice_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(
            Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), default=None, index=True
        )

    @property
    def parent(self) -> tuple[str, uuid.UUID]:
        for kind in PARENT_TABLES:
            value = getattr(self, f"{kind}_id")
            if value is not None:
                return kind, value
        raise ValueError("row has no parent")


class Comment(UUIDPrimaryKey, Timestamps, Versioned, TenantOwned, _HasParent, Base):
    __tablename__ = "comments"
    __table_args__ = (CheckConstraint(_exactly_one_parent(), name="one_parent"),)

    comment: Mapped[str] = mapped_column(Text)
    commented_on: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    commented_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("profiles.id", ondelete="SET NULL"), default=None, index=True
    )


class Attachment(UUIDPrimaryKey, Timestamps, CreatedBy, TenantOwned, _HasParent, Base):
    __tablename__ = "attachments"
    __table_args__ = (CheckConstraint(_exactly_one_parent(), name="one_parent"),)

    file_name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(512), unique=True)
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
