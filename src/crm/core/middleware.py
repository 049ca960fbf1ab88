"""ASGI middleware: request ids, the audit trail and trailing-slash normalisation (pure ASGI,
no buffering)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm.core.audit import (
    PATH_MAX,
    USER_AGENT_MAX,
    AuditTrail,
    PendingEvent,
    end_trail,
    start_trail,
)
from crm.core.errors import ValidationFailed, send_error, unexpected_error

logger = logging.getLogger("crm.errors")
audit_logger = logging.getLogger("crm.audit")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Every response carries ``X-Request-ID``: the caller's if it is sane, else a new one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send_with_id(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            # Rendered here, inside this middleware, so the answer carries the request id.
            if started:
                logger.exception("unhandled error")
                raise
            await send_error(send_with_id, scope.get("path", ""), unexpected_error(exc))
        finally:
            request_id_var.reset(token)


class NulCharacterMiddleware:
    """Refuse NUL characters in the path or query string with a 400.

    PostgreSQL cannot store U+0000 in text, so letting one through would end in a database
    error; refusing it at the edge gives every backend the same clear answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
                error = ValidationFailed(
                    "NUL characters are not allowed in the URL", code="nul_character"
                )
                await send_error(send, scope["path"], error)
                return
        await self.app(scope, receive, send)


class TrailingSlashMiddleware:
    """Serve ``/api/...`` paths with and without the trailing slash, without redirects (§1.1).

    Routes are declared with the documented trailing slash; ``/api/crm/...`` (seed 004 style)
    is declared without one, so there the slash is stripped instead.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith("/api/crm/") or path == "/api/crm":
                if path.endswith("/") and len(path) > 1:
                    scope = dict(scope, path=path.rstrip("/"))
            elif path.startswith("/api/") and not path.endswith("/"):
                scope = dict(scope, path=path + "/")
        await self.app(scope, receive, send)


AuditSink = Callable[[Scope, AuditTrail, list[PendingEvent]], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class AuditTrailMiddleware:
    """Gives each HTTP request a trail and hands its events to ``sink`` when it is over.

    Runs inside ``RequestIdMiddleware`` (the request id is known) and outside the error
    handlers (the request's session is closed by the time ``sink`` runs). The sink must not
    raise; if it does anyway the failure is logged: the response is already decided.
    """

    def __init__(self, app: ASGIApp, sink: AuditSink) -> None:
        self.app = app
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        agent = _header(scope, b"user-agent")
        trail = AuditTrail(
            ip=client[0] if client else None,
            user_agent=agent[:USER_AGENT_MAX] if agent is not None else None,
            request_id=request_id_var.get(),
            method=scope.get("method"),
            path=str(scope.get("path", ""))[:PATH_MAX],
        )
        token = start_trail(trail)

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                trail.status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            end_trail(token)
            events = trail.to_write()
            if events:
                try:
                    await self.sink(scope, trail, events)
                except Exception:
                    audit_logger.exception("audit events could not be written")
