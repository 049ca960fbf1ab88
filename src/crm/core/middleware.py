"""ASGI middleware: request ids and trailing-slash normalisation (pure ASGI, no buffering)."""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm.core.errors import ValidationFailed, body_for, unexpected_error

logger = logging.getLogger("crm.errors")

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
            error = unexpected_error(exc)
            body = json.dumps(body_for(scope.get("path", ""), error)).encode()
            headers = [(k.lower().encode("latin-1"), v.encode()) for k, v in error.headers.items()]
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": error.status_code,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        *headers,
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})
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
                body = json.dumps(body_for(scope["path"], error)).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": error.status_code,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
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
