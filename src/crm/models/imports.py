"""Lead import jobs: a row per uploaded file, with progress and per-row errors (§6.9)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.db import Base, CreatedBy, Timestamps, UTCDateTime, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned

IMPORT_STATUSES = ("pending", "running", "done", "failed")


class LeadImport(UUIDPrimaryKey, Timestamps, CreatedBy, TenantOwned, Base):
    __tablename__ = "lead_imports"

    file_name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    imported_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    message: Mapped[str | None] = mapped_column(String(1000), default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
