"""The security audit log: logins, failed logins, refresh-token reuse, permission denials,
API-key use (crm.audit).

Not tenant-owned: a login belongs to a user, not to an org, and a failed login for an
unknown e-mail to nobody. ``org_id`` is set when the event happened in an org (a denial, a
key's use); crm.audit.repository decides who sees what. The ids are plain columns, not
foreign keys: the log must keep saying what happened after the user, key or org it names
is gone, and writing an event must never fail because of them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.audit import SecurityEventKind
from crm.core.clock import utcnow
from crm.core.db import Base, UTCDateTime, UUIDPrimaryKey


class SecurityEvent(UUIDPrimaryKey, Base):
    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_org_id_occurred_at", "org_id", "occurred_at"),
        Index("ix_security_events_user_id_occurred_at", "user_id", "occurred_at"),
    )

    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32))  # a SecurityEventKind
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)  # as typed
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(255), default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    method: Mapped[str | None] = mapped_column(String(16), default=None)
    path: Mapped[str | None] = mapped_column(String(500), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


__all__ = ["SecurityEvent", "SecurityEventKind"]
