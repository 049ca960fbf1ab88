"""Optimistic concurrency: record versions, ``ETag`` and ``If-Match`` (RFC 9110 §13.1.1).

Every editable record carries a ``version`` that grows with each UPDATE of its row.

The record a request is about (its *subject*) is the one named by the last id in the path.
Nothing per route is needed: the app-level dependency :func:`capture_subject` notes that id,
the ORM ``load`` event notices when the subject is read, compares its version with the
request's ``If-Match`` (a stale one raises :class:`PreconditionFailed` before anything is
written), the flush moves the version on with a conditional UPDATE (``... WHERE version =
<the one matched>``) so that a writer who got in between the read and the write still makes
this request fail with 412 rather than be overwritten, and
:class:`ConditionalRequestMiddleware` puts the version in the response's ``ETag``.
Requests without ``If-Match`` behave as before (the last writer wins).
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import Integer, event, inspect, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm.core.clock import utcnow
from crm.core.db import CRMSession
from crm.core.errors import DomainError

_GUARDED_METHODS = frozenset({"PUT", "PATCH", "DELETE"})
_TAGGED_METHODS = frozenset({"GET", "PUT", "PATCH"})


class PreconditionFailed(DomainError):
    status_code = 412
    code = "precondition_failed"
    default_message = (
        "The record has changed since you read it (If-Match does not match its ETag); "
        "read it again and retry"
    )


class Versioned:
    """Mixin: a ``version`` that starts at 1 and grows with every UPDATE of the row."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")


def entity_tag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(raw: str) -> tuple[str, ...] | None:
    """The entity tags of an ``If-Match`` value (``*`` stays ``*``; none: no condition).
    Weak tags keep their ``W/``, so that, compared strongly as RFC 9110 requires, they
    never match."""
    tags = tuple(part.strip() for part in raw.split(",") if part.strip())
    return tags or None


@dataclass
class Precondition:
    """What this request knows about its subject; one per HTTP request."""

    method: str
    if_match: tuple[str, ...] | None
    subject_id: uuid.UUID | None = None
    subject: Any = None
    version: int | None = None
    bumped: bool = False

    def matches(self, version: int) -> bool:
        assert self.if_match is not None
        return "*" in self.if_match or entity_tag(version) in self.if_match


_current: ContextVar[Precondition | None] = ContextVar("crm_precondition", default=None)


def subject_version() -> int | None:
    """The version of this request's subject as last read or written (None: not read)."""
    precondition = _current.get()
    return None if precondition is None else precondition.version


def _as_uuid(value: Any) -> uuid.UUID | None:
    """A path id as a UUID: the plain form or the /api/crm ``<doctype>_<hex>`` form."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        return None
    for candidate in (value, value.rpartition("_")[2]):
        try:
            return uuid.UUID(candidate)
        except ValueError:
            continue
    return None


async def capture_subject(request: Request) -> None:
    """App-level dependency: the subject of this request is the last id in its path."""
    precondition = _current.get()
    if precondition is None:
        return
    for value in reversed(list(request.path_params.values())):
        subject_id = _as_uuid(value)
        if subject_id is not None:
            precondition.subject_id = subject_id
            return


def _noticed(target: Any) -> None:
    precondition = _current.get()
    if precondition is None or precondition.subject_id is None:
        return
    if getattr(target, "id", None) != precondition.subject_id:
        return
    version = inspect(target).dict.get("version")
    if not isinstance(version, int):
        return
    first_read = precondition.subject is None
    precondition.subject = target
    precondition.version = version
    if (
        first_read  # later reads see this request's own writes
        and precondition.if_match is not None
        and precondition.method in _GUARDED_METHODS
        and not precondition.matches(version)
    ):
        raise PreconditionFailed()


@event.listens_for(Versioned, "load", propagate=True)
def _on_load(target: Any, _context: Any) -> None:
    _noticed(target)


@event.listens_for(Versioned, "refresh", propagate=True)
def _on_refresh(target: Any, _context: Any, _attrs: Any) -> None:
    _noticed(target)


@event.listens_for(CRMSession, "before_flush")
def _next_versions(session: Session, _context: Any, _instances: Any) -> None:
    precondition = _current.get()
    subject = precondition.subject if precondition is not None else None
    if (
        precondition is not None
        and subject is not None
        and not precondition.bumped
        and precondition.method in ("PUT", "PATCH")
        and subject in session
        and subject not in session.deleted
    ):
        # A PUT or PATCH of the subject always makes a new version, even when it changed
        # only its links (assignees, teams, tags: rows of other tables), so that two such
        # edits from the same ETag cannot both succeed.
        precondition.bumped = True
        subject.updated_at = utcnow()
    for target in session.dirty:
        if not isinstance(target, Versioned) or not session.is_modified(
            target, include_collections=False
        ):
            continue
        current = inspect(target).committed_state.get("version", target.version)
        is_subject = precondition is not None and target is subject
        if is_subject and precondition is not None and precondition.if_match is not None:
            _guarded_step(session, target, current)
        else:
            target.version = current + 1
        if is_subject and precondition is not None:
            precondition.version = current + 1


def _guarded_step(session: Session, target: Any, expected: int) -> None:
    """Move the subject to the next version only if it is still at the one If-Match
    matched; the row stays locked (PostgreSQL) until this transaction ends."""
    table = type(target).__table__
    moved = session.connection().execute(
        update(table)
        .where(table.c.id == target.id, table.c.version == expected)
        .values(version=expected + 1)
    )
    if moved.rowcount != 1:
        raise PreconditionFailed()
    set_committed_value(target, "version", expected + 1)


class ConditionalRequestMiddleware:
    """Opens the request's :class:`Precondition` and answers with the subject's ``ETag``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        if_match = None
        for name, value in scope["headers"]:
            if name == b"if-match":
                if_match = parse_if_match(value.decode("latin-1"))
                break
        precondition = Precondition(method=method, if_match=if_match)
        token = _current.set(precondition)

        async def send_with_tag(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and precondition.version is not None
                and (
                    (method in _TAGGED_METHODS and message["status"] == 200)
                    or message["status"] == 412
                )
            ):
                headers = list(message.get("headers", []))
                headers.append((b"etag", entity_tag(precondition.version).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_tag)
        finally:
            _current.reset(token)
