"""Engines, sessions, the declarative base and the column mixins every model uses.

``CRM_DATABASE_URL`` takes what users already have (``postgresql://user@host/db``,
``sqlite:///path``); choosing the async driver is this module's business.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, TypeVarTuple

from fastapi import Depends, Request
from sqlalchemy import BigInteger, DateTime, ForeignKey, MetaData, Select, Uuid, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect, Row, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from crm.core.clock import as_utc, utcnow
from crm.core.config import Settings

logger = logging.getLogger("crm.db")
_Ts = TypeVarTuple("_Ts")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Money(TypeDecorator[Decimal]):
    """A money amount with 2 decimal places, stored as exact integer hundredths.

    SQLite keeps NUMERIC as a binary float, so sums would drift; integers add up exactly on
    every backend. Values with more than 2 places are rounded half-up.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int((Decimal(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else (Decimal(int(value)) / 100).quantize(CENTS)


CENTS = Decimal("0.01")


class Fixed4(TypeDecorator[Decimal]):
    """A decimal with up to 4 places, stored as exact integer ten-thousandths (invoice
    quantities, rates, percentages and amounts in any ISO 4217 minor unit, which has at
    most 3 places). Values with more places are rounded half-up."""

    impl = BigInteger
    cache_ok = True
    places = 4

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(self.places)
        return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(int(value)).scaleb(-self.places)


class Fixed9(Fixed4):
    """Up to 9 places (exchange rates, as ERPNext keeps them), up to 9 223 372 036."""

    places = 9


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_on: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CreatedBy:
    """The member (profile) who created the row; kept as NULL if that member is removed."""

    @declared_attr
    def created_by_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(
            Uuid, ForeignKey("profiles.id", ondelete="SET NULL"), nullable=True, index=True
        )


# -- URLs and engines ---------------------------------------------------------------------


def async_url(raw: str) -> URL:
    """Map a plain database URL onto the async driver this server uses."""
    url = make_url(raw)
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        query = dict(url.query)
        sslmode = query.pop("sslmode", None)
        if sslmode is not None:
            query["ssl"] = sslmode
        return url.set(drivername="postgresql+asyncpg", query=query)
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    raise ValueError(
        f"unsupported database URL scheme {url.drivername!r}; use postgresql:// or sqlite://"
    )


def _py_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction starts, so that
        # SAVEPOINTs and reads inside transactions behave as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's lower() folds ASCII only; PostgreSQL's folds every script. Case-insensitive
        # names (uniqueness indexes, filters) must agree with Python's str.lower on both.
        dbapi_connection.create_function("lower", 1, _py_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A transaction that may write takes the write lock up front: a deferred one that
        # read first could not write once another writer had committed (SQLITE_BUSY_SNAPSHOT,
        # which the busy timeout does not retry); IMMEDIATE waits for the lock instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write.get() else "BEGIN")


def create_engine(settings: Settings, *, url: str | None = None) -> AsyncEngine:
    target = async_url(url or settings.effective_database_url)
    if target.get_backend_name() == "sqlite":
        database = target.database
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target)
        _install_sqlite_pragmas(engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_async_engine(
        target,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # A request waits this long for a pooled connection, then answers 503.
        pool_timeout=settings.db_pool_timeout_seconds,
        # asyncpg waits 60 s for a server that does not answer; a request should not.
        connect_args={"timeout": settings.db_connect_timeout_seconds},
        # No pre-ping: it costs a round trip on every checkout (every request; measured in
        # docs/reliability.md). A dead connection fails its request with a 503, and the
        # pool then discards every connection opened before the disconnect, so the next
        # request reconnects. Connections the server may drop when idle are recycled.
        pool_recycle=1800,
    )


# -- the database being unavailable ----------------------------------------------------------

# SQLSTATEs that say "the server cannot serve now", not "this statement is wrong":
# class 08 (connection exception), 53300 too many connections, 57P01-57P03 shutting down
# or starting up.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08",)
_UNAVAILABLE_SQLSTATES = frozenset({"53300", "57P01", "57P02", "57P03"})
# SQLite's "busy beyond the busy timeout" errors.
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached or cannot serve right now
    (retry later: 503), as opposed to a bug in a statement (500).

    The one place that decides it, for the HTTP error handler and for jobs that retry.
    Connection-level failures come in several forms: a DBAPI error SQLAlchemy recognised
    as a disconnect (``connection_invalidated``), a server error whose SQLSTATE says so,
    the pool's checkout timeout, SQLite being busy, and the driver's own socket errors
    (asyncpg raises ``ConnectionRefusedError``/``TimeoutError`` from ``connect`` unwrapped).
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.TimeoutError):  # pool checkout timed out
            return True
        if isinstance(current, sa_exc.DBAPIError):
            if current.connection_invalidated:
                return True
            if isinstance(current, sa_exc.OperationalError) and any(
                text in str(current.orig).lower() for text in _SQLITE_BUSY
            ):
                return True
        elif isinstance(current, ConnectionError | TimeoutError | socket.gaierror):
            return True
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and (
            state in _UNAVAILABLE_SQLSTATES or state.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES)
        ):
            return True
        # SQLAlchemy keeps the driver's exception as ``orig``; the adapter chains the
        # driver's own below that.
        current = getattr(current, "orig", None) or current.__cause__
    return False


def failure_reason(error: BaseException) -> str:
    """The driver's words for a database failure, for logs: without the statement and its
    parameters, which SQLAlchemy's own message carries (lead names, e-mails...)."""
    driver = getattr(error, "orig", None) or error
    return f"{type(driver).__name__}: {driver}"


class CRMSession(Session):
    """Session class the tenant guard listens on (see ``crm.core.tenancy``)."""


def make_sessionmaker(bind: Any, **kwargs: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=bind, expire_on_commit=False, sync_session_class=CRMSession, **kwargs
    )


@dataclass
class Database:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # SQLite: requests that may write queue here, first come first served, instead of in
    # SQLite's busy handler, whose backoff lets a waiter starve past the busy timeout.
    write_lock: asyncio.Lock | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, url: str | None = None) -> Database:
        engine = create_engine(settings, url=url)
        lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        return cls(engine=engine, sessionmaker=make_sessionmaker(engine), write_lock=lock)

    async def dispose(self) -> None:
        await self.engine.dispose()


_AFTER_COMMIT_KEY = "crm_after_commit"
DISPATCHER_KEY = "crm_dispatcher"
AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession | Session, callback: AfterCommit) -> None:
    """Run ``callback`` once the request's transaction has committed (e.g. enqueue a job for a
    row this request wrote: the job must never look for a row that is not there yet)."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop(_AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            # The data is committed; a failed hand-off is picked up again by the sweeps.
            logger.exception("after-commit callback failed")


# Whether the current transaction may write (SQLite starts those with BEGIN IMMEDIATE).
# Sessions outside requests (jobs, CLI) may; requests with a safe method only read.
_may_write: ContextVar[bool] = ContextVar("crm_may_write", default=True)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the endpoint returns, rolled back on error.

    Used with ``scope="function"`` so the commit happens before the response is sent and a
    failing commit still becomes an error response.
    """
    database: Database = request.app.state.database
    may_write = request.method not in _SAFE_METHODS
    _may_write.set(may_write)
    async with AsyncExitStack() as stack:
        if may_write and database.write_lock is not None:
            await stack.enter_async_context(database.write_lock)
        session = await stack.enter_async_context(database.sessionmaker())
        session.info[DISPATCHER_KEY] = getattr(request.app.state, "dispatcher", None)
        try:
            yield session
            await session.commit()
            await run_after_commit(session)
        except BaseException as exc:
            # Some failures must still persist what they did (a revoked token family).
            if getattr(exc, "keep_changes", False):
                await session.commit()
            else:
                session.info.pop(_AFTER_COMMIT_KEY, None)
                await session.rollback()
            raise


DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]


async def first_row_before_transaction(
    session: AsyncSession, statement: Select[*_Ts], params: dict[str, Any]
) -> Row[*_Ts] | None:
    """The first row of a read that opens a request (the caller's session and membership),
    run outside the request's transaction when that has not begun yet, on PostgreSQL.

    A request whose answer is then served from the response cache needs no other statement;
    on its own autocommit connection the read is 1 round trip instead of 3 (BEGIN, the read,
    COMMIT), about a third of such a request's server CPU. Under READ COMMITTED each
    statement sees its own snapshot anyway, so the later statements of a request that does go
    on see the database no differently. SQLite keeps the session's connection: it has no
    round trips to save, and switching its isolation level back would hand pysqlite the
    transaction control the ``begin`` hook above keeps."""
    engine = session.bind
    if (
        isinstance(engine, AsyncEngine)
        and engine.dialect.name == "postgresql"
        and not session.in_transaction()
    ):
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            return (await connection.execute(statement, params)).first()
    return (await session.execute(statement, params)).first()


@asynccontextmanager
async def own_transaction(database: Database) -> AsyncIterator[AsyncSession]:
    """A short write transaction of its own, committed on exit: for what must be written
    whatever became of a request's transaction (the audit log). Queued behind the SQLite
    writers as a request is; never call it while holding that queue (inside a request's
    session)."""
    token = _may_write.set(True)
    try:
        async with AsyncExitStack() as stack:
            if database.write_lock is not None:
                await stack.enter_async_context(database.write_lock)
            session = await stack.enter_async_context(database.sessionmaker())
            yield session
            await session.commit()
    finally:
        _may_write.reset(token)
