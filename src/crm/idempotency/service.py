"""The idempotency records: claim a key, complete it with the answer, release it, prune.

Each step is its own short transaction, outside the request's: the claim must be visible
to a racing duplicate before the request's work commits, and the answer is only known once
the response exists. On SQLite every write takes the database's write lock, as requests do.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.clock import utcnow
from crm.core.db import Database
from crm.models.idempotency import IdempotentRequest

KEEP_FOR = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Request:
    scope: str
    key: str
    principal: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    content_type: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class Found:
    """The key is taken: by this same request (``answer`` once it has one), or not."""

    same_request: bool
    answer: Answer | None


class IdempotencyStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        async with AsyncExitStack() as stack:
            if self.database.write_lock is not None:
                await stack.enter_async_context(self.database.write_lock)
            session = await stack.enter_async_context(self.database.sessionmaker())
            async with session.begin():
                yield session

    async def claim(self, request: Request) -> Found | None:
        """Take the key for this request (None), or say who has it."""
        now = utcnow()
        try:
            async with self._writing() as session:
                await session.execute(
                    delete(IdempotentRequest).where(
                        IdempotentRequest.scope == request.scope,
                        IdempotentRequest.key == request.key,
                        IdempotentRequest.created_at < now - KEEP_FOR,
                    )
                )
                session.add(
                    IdempotentRequest(
                        id=uuid.uuid4(),
                        scope=request.scope,
                        key=request.key,
                        principal=request.principal,
                        fingerprint=request.fingerprint,
                        created_at=now,
                    )
                )
            return None
        except IntegrityError:
            found = await self.find(request)
            # Gone between the two statements (released after a failure): take it now.
            return found if found is not None else await self.claim(request)

    async def find(self, request: Request) -> Found | None:
        async with self.database.sessionmaker() as session:
            row = (
                await session.execute(
                    select(IdempotentRequest).where(
                        IdempotentRequest.scope == request.scope,
                        IdempotentRequest.key == request.key,
                    )
                )
            ).scalar_one_or_none()
        if row is None:
            return None
        same = row.principal == request.principal and row.fingerprint == request.fingerprint
        answer = None
        if row.completed_at is not None and row.status_code is not None:
            answer = Answer(row.status_code, row.content_type, row.body or b"")
        return Found(same_request=same, answer=answer)

    async def complete(self, request: Request, answer: Answer) -> None:
        async with self._writing() as session:
            await session.execute(
                update(IdempotentRequest)
                .where(
                    IdempotentRequest.scope == request.scope, IdempotentRequest.key == request.key
                )
                .values(
                    completed_at=utcnow(),
                    status_code=answer.status_code,
                    content_type=answer.content_type,
                    body=answer.body,
                )
            )

    async def release(self, request: Request) -> None:
        """Forget a claim whose request failed on the server's side: a retry may run it."""
        async with self._writing() as session:
            await session.execute(
                delete(IdempotentRequest).where(
                    IdempotentRequest.scope == request.scope,
                    IdempotentRequest.key == request.key,
                    IdempotentRequest.completed_at.is_(None),
                )
            )

    async def prune(self, now: datetime | None = None) -> int:
        async with self._writing() as session:
            result = await session.execute(
                delete(IdempotentRequest).where(
                    IdempotentRequest.created_at < (now or utcnow()) - KEEP_FOR
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)
