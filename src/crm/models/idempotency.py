"""Idempotency keys: the first answer to a POST sent with ``Idempotency-Key``, kept 24 h so
that a retry gets that answer instead of creating the record again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.db import Base, UTCDateTime, UUIDPrimaryKey


class IdempotentRequest(UUIDPrimaryKey, Base):
    """Keyed by *scope* (the org a member acts in, or the API key used) and the client's key.
    Not tenant-owned: only the idempotency middleware reads it, before authentication has
    bound an org, and it never returns a row to a caller other than ``principal``."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    principal: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    content_type: Mapped[str | None] = mapped_column(String(200), default=None)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
