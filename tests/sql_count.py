"""Counting the SQL statements a request issues (the no-N+1 assertion of every list)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# Transaction bookkeeping, not queries: savepoints, and on PostgreSQL the statement that enters
# (and, after writes, leaves) the tenant's row-level security once per transaction
# (crm.core.tenancy). They do not grow with anything a request asks for.
_BOOKKEEPING = ("SAVEPOINT", "RELEASE", "ROLLBACK TO", "BEGIN", "SELECT SET_CONFIG('ROLE'")


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[StatementCounter]:
    counter = StatementCounter()

    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(_BOOKKEEPING):
            counter.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", _record)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _record)
