"""Outbound e-mail: each message is a row with a status, so it survives restarts and is
sent once. The queue only carries the row's id; a sweep re-dispatches what is due."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.clock import utcnow
from crm.core.db import Base, CreatedBy, Timestamps, UTCDateTime, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned

EMAIL_STATUSES = ("queued", "sending", "sent", "failed")


class OutboundEmail(UUIDPrimaryKey, Timestamps, CreatedBy, TenantOwned, Base):
    __tablename__ = "outbound_emails"

    kind: Mapped[str] = mapped_column(String(20), default="account")  # account | notification
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), default=None, index=True
    )
    from_email: Mapped[str] = mapped_column(String(254))
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(998))
    html: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    message_id: Mapped[str] = mapped_column(
        String(255), default=lambda: f"<{uuid.uuid4().hex}@crm>"
    )

    __table_args__ = (Index("ix_outbound_emails_status_scheduled_at", "status", "scheduled_at"),)
