"""Lead counts that stay fast at a million leads: read from ``lead_counts``.

The database appends a +1/-1 row to ``lead_counts`` for every lead that enters or leaves a
(status, lower-cased source) pair (triggers of migration c5e2a9d41f07), so the sum of an
org's rows per pair is always exactly how many leads it has there, in every transaction's
own view. Summing a few hundred rows replaces counting up to a million index entries.

The rows grow with every write; a transaction that wrote leads folds its org's rows into
one per pair once this process has seen ``FOLD_AFTER_ROWS`` lead rows written since its last
fold. A fold removes rows and inserts their sums in one step, so the sums never change:
on PostgreSQL one statement (``DELETE ... RETURNING`` feeding the INSERT: exactly the rows
it removed are summed, whatever commits beside it); on SQLite, whose writers take turns,
the rows up to the highest id are summed, then removed.
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
from crm.models.sales import LEAD_STATUSES, Lead, LeadCount

CONVERTED = "converted"
assert CONVERTED in LEAD_STATUSES

# Lead rows written in this process since it last folded an org's counts.
FOLD_AFTER_ROWS = 256
_written_since_fold = [0]
_WRITTEN_KEY = "crm_leads_written"


async def lead_counts(
    session: AsyncSession,
    org_id: uuid.UUID,
    status: str | None = None,
    source: str | None = None,
    *,
    converted: bool = False,
) -> dict[str, int]:
    """How many of the org's leads there are per status (converted ones only with
    ``converted``: the lists leave them out), optionally of one status and one source
    (compared as ``LeadFilters`` compares them: the source case-insensitively)."""
    statement = (
        select(LeadCount.status, func.sum(LeadCount.n))
        .where(LeadCount.org_id == org_id)
        .group_by(LeadCount.status)
    )
    if not converted:
        statement = statement.where(LeadCount.status != CONVERTED)
    if status:
        statement = statement.where(LeadCount.status == status)
    if source:
        statement = statement.where(LeadCount.source_ci == source.strip().lower())
    rows = (await session.execute(statement)).all()
    return {name: int(n) for name, n in rows if n}


def fold(connection: Connection, org_id: uuid.UUID) -> None:
    """Replace the org's rows by one per (status, source) with their sum (none for a sum of
    0). Run inside the caller's transaction."""
    org = literal(org_id, Uuid())
    columns = ["org_id", "status", "source_ci", "n"]
    if connection.dialect.name == "postgresql":
        gone = (
            delete(LeadCount)
            .where(LeadCount.org_id == org_id)
            .returning(LeadCount.status, LeadCount.source_ci, LeadCount.n)
            .cte("gone")
        )
        total = func.sum(gone.c.n)
        connection.execute(
            insert(LeadCount).from_select(
                columns,
                select(org, gone.c.status, gone.c.source_ci, total)
                .group_by(gone.c.status, gone.c.source_ci)
                .having(total != 0),
            )
        )
        return
    top = connection.scalar(select(func.max(LeadCount.id)).where(LeadCount.org_id == org_id))
    if top is None:
        return
    mine = (LeadCount.org_id == org_id, LeadCount.id <= top)
    total = func.sum(LeadCount.n)
    connection.execute(
        insert(LeadCount).from_select(
            columns,
            select(org, LeadCount.status, LeadCount.source_ci, total)
            .where(*mine)
            .group_by(LeadCount.status, LeadCount.source_ci)
            .having(total != 0),
        )
    )
    connection.execute(delete(LeadCount).where(*mine))


def _note(session: Session, rows: int) -> None:
    if rows:
        session.info[_WRITTEN_KEY] = session.info.get(_WRITTEN_KEY, 0) + rows


@event.listens_for(CRMSession, "after_flush")
def _note_flushed_leads(session: Session, _context: Any) -> None:
    changed = chain(session.new, session.dirty, session.deleted)
    _note(session, sum(1 for obj in changed if isinstance(obj, Lead)))


@event.listens_for(CRMSession, "do_orm_execute")
def _note_bulk_leads(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if state.bind_mapper is None or state.bind_mapper.class_ is not Lead:
        return
    parameters = state.parameters
    _note(state.session, len(parameters) if isinstance(parameters, list) else 1)


@event.listens_for(CRMSession, "before_commit")
def _fold_now_and_then(session: Session) -> None:
    """Fold the org's counts in a transaction that wrote leads, once enough were written.
    Runs after the tenant role was left (core's listener runs first), on the connection
    itself: no policy check, no ORM events."""
    written = session.info.pop(_WRITTEN_KEY, 0)
    tenant = current_tenant(session)
    if not written or tenant is None:
        return
    _written_since_fold[0] += written
    if _written_since_fold[0] < FOLD_AFTER_ROWS:
        return
    _written_since_fold[0] = 0
    fold(session.connection(), tenant.org_id)
