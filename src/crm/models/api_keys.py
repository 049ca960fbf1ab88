"""Secret API keys (``sk_...``): an org's programmatic credentials, made by its admins.

Only a SHA-256 of the key is stored (the key is 256 random bits, so a plain hash is as
strong as a slow one and costs nothing per request); the client sees the key once, at
creation. A key acts as the admin who made it, while that admin is an active member.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.db import Base, CreatedBy, Timestamps, UTCDateTime, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned


class APIKey(UUIDPrimaryKey, Timestamps, CreatedBy, TenantOwned, Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # the key's start, to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8), default="write")  # "read" or "write"
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
