"""Test kit for the count tables (``crm.models.record_counts``): their rows, and a fold."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from crm.core.db import Database
from crm.core.tenancy import unscoped
from crm.models.record_counts import fold


async def count_rows(database: Database, model: Any, org_id: str) -> int:
    """How many rows the org has in the count table of ``model`` (folded or not)."""
    async with database.sessionmaker() as session:
        with unscoped(session):
            total = await session.scalar(
                select(func.count()).select_from(model).where(model.org_id == uuid.UUID(org_id))
            )
            return int(total or 0)


async def fold_org(database: Database, org_id: str) -> None:
    """Fold the org's rows of every count table, in a transaction of its own."""
    async with database.sessionmaker() as session:
        connection = await session.connection()
        await connection.run_sync(fold, uuid.UUID(org_id))
        await session.commit()
