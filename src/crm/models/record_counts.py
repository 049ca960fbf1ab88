"""Lead and account counts that stay fast at a million records: read from the count tables.

The database appends a +1/-1 row to ``lead_counts`` for every lead that enters or leaves a
(status, lower-cased source) pair, and to ``account_counts`` for every account that enters
or leaves a status (triggers of migrations c5e2a9d41f07 and d8a4c2f16b93), so the sum of an
org's rows per key is always exactly how many records it has there, in every transaction's
own view. Summing a few hundred rows replaces counting up to a million index entries.

The rows grow with every write; a transaction that wrote leads or accounts folds its org's
rows into one per key once this process has seen ``FOLD_AFTER_ROWS`` such rows written
since its last fold. A fold removes rows and inserts their sums in one step, so the sums
never change: on PostgreSQL one statement per table (``DELETE ... RETURNING`` feeding the
INSERT: exactly the rows it removed are summed, whatever commits beside it); on SQLite,
whose writers take turns, the rows up to the highest id are summed, then removed.
"""

from __future__ import annotations

import uuid
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Uuid, delete, event, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from crm.core.db import CRMSession
from crm.core.tenancy import current_tenant
from crm.models.sales import LEAD_STATUSES, Account, AccountCount, Lead, LeadCount

CONVERTED = "converted"
assert CONVERTED in LEAD_STATUSES

# Counted records written in this process since it last folded an org's counts.
FOLD_AFTER_ROWS = 256
_written_since_fold = [0]
_WRITTEN_KEY = "crm_counted_rows_written"
_COUNTED = (Lead, Account)
# Each count table and the columns its rows are counted by.
_TABLES: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (LeadCount, ("status", "source_ci")),
    (AccountCount, ("status",)),
)


async def lead_counts(
    session: AsyncSession,
    org_id: uuid.UUID,
    status: str | None = None,
    source: str | None = None,
) -> dict[str, int]:
    """How many of the org's leads there are per status (converted ones left out, as the
    lists leave them out), optionally of one status and one source (compared as
    ``LeadFilters`` compares them: the source case-insensitively)."""
    conditions = [LeadCount.status != CONVERTED]
    if status:
        conditions.append(LeadCount.status == status)
    if source:
        conditions.append(LeadCount.source_ci == source.strip().lower())
    return await _per_status(session, LeadCount, org_id, conditions)


async def account_counts(
    session: AsyncSession, org_id: uuid.UUID, status: str | None = None
) -> dict[str, int]:
    """How many of the org's accounts there are per status, optionally of one status."""
    conditions = [AccountCount.status == status] if status else []
    return await _per_status(session, AccountCount, org_id, conditions)


async def _per_status(
    session: AsyncSession, model: Any, org_id: uuid.UUID, conditions: list[Any]
) -> dict[str, int]:
    """The org's rows of a count table summed per status (statuses summing to 0 left out)."""
    statement = (
        select(model.status, func.sum(model.n))
        .where(model.org_id == org_id, *conditions)
        .group_by(model.status)
    )
    rows = (await session.execute(statement)).all()
    return {name: int(n) for name, n in rows if n}


def fold(connection: Connection, org_id: uuid.UUID) -> None:
    """Replace the org's rows of each count table by one per key with their sum (none for
    a sum of 0). Run inside the caller's transaction."""
    for model, keys in _TABLES:
        _fold_table(connection, org_id, model, keys)


def _fold_table(
    connection: Connection, org_id: uuid.UUID, model: Any, keys: tuple[str, ...]
) -> None:
    org = literal(org_id, Uuid())
    columns = ["org_id", *keys, "n"]
    if connection.dialect.name == "postgresql":
        gone = (
            delete(model)
            .where(model.org_id == org_id)
            .returning(*(getattr(model, key) for key in keys), model.n)
            .cte("gone")
        )
        total = func.sum(gone.c.n)
        grouped = [gone.c[key] for key in keys]
        connection.execute(
            insert(model).from_select(
                columns, select(org, *grouped, total).group_by(*grouped).having(total != 0)
            )
        )
        return
    top = connection.scalar(select(func.max(model.id)).where(model.org_id == org_id))
    if top is None:
        return
    mine = (model.org_id == org_id, model.id <= top)
    total = func.sum(model.n)
    grouped = [getattr(model, key) for key in keys]
    connection.execute(
        insert(model).from_select(
            columns,
            select(org, *grouped, total).where(*mine).group_by(*grouped).having(total != 0),
        )
    )
    connection.execute(delete(model).where(*mine))


def _note(session: Session, rows: int) -> None:
    if rows:
        session.info[_WRITTEN_KEY] = session.info.get(_WRITTEN_KEY, 0) + rows


@event.listens_for(CRMSession, "after_flush")
def _note_flushed_records(session: Session, _context: Any) -> None:
    changed = chain(session.new, session.dirty, session.deleted)
    _note(session, sum(1 for obj in changed if isinstance(obj, _COUNTED)))


@event.listens_for(CRMSession, "do_orm_execute")
def _note_bulk_records(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if state.bind_mapper is None or state.bind_mapper.class_ not in _COUNTED:
        return
    parameters = state.parameters
    _note(state.session, len(parameters) if isinstance(parameters, list) else 1)


@event.listens_for(CRMSession, "before_commit")
def _fold_now_and_then(session: Session) -> None:
    """Fold the org's counts in a transaction that wrote counted records, once enough were
    written. Runs after the tenant role was left (core's listener runs first), on the
    connection itself: no policy check, no ORM events."""
    written = session.info.pop(_WRITTEN_KEY, 0)
    tenant = current_tenant(session)
    if not written or tenant is None:
        return
    _written_since_fold[0] += written
    if _written_since_fold[0] < FOLD_AFTER_ROWS:
        return
    _written_since_fold[0] = 0
    fold(session.connection(), tenant.org_id)
