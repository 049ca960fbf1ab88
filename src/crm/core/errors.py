"""Typed domain errors and the handlers that render every failure in the §1.6 shapes.

Routes and services raise these; nothing builds an error response by hand. Shapes:
401 ``{"detail", "code"}``; every other status ``{"error": true, "errors": <str|{field: [msg]}>,
"code"}``. Malformed input never reaches a 500: bad JSON and wrong types are 400, a
malformed id in a path is 404 (it cannot name a record).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from crm.core.audit import record_denial
from crm.core.db import database_unavailable, failure_reason

logger = logging.getLogger("crm.errors")

FieldErrors = dict[str, list[str]]


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    default_message = "Bad request"
    keep_changes = False  # True: the request transaction commits although the request fails

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        field_errors: Mapping[str, Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.extra = dict(extra or {})  # more keys for the body (e.g. per-row import errors)
        if code:
            self.code = code
        self.field_errors: FieldErrors | None = (
            {k: list(v) for k, v in field_errors.items()} if field_errors else None
        )
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {
            "error": True,
            "errors": self.field_errors or self.message,
            "code": self.code,
            **self.extra,
        }


class ValidationFailed(DomainError):
    status_code = 400
    code = "invalid"
    default_message = "Invalid input"

    @classmethod
    def on(cls, field: str, message: str, *, code: str = "invalid") -> ValidationFailed:
        return cls(message, code=code, field_errors={field: [message]})


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"
    default_message = "Authentication credentials were not provided."

    def body(self) -> dict[str, Any]:
        return {"detail": self.message, "code": self.code}


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"
    default_message = "You do not have Permission to perform this action"
    required_role: str | None = None  # for the audit log: the role that would have passed


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_message = "Not found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state of the record"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"
    default_message = "Request body is too large"


class TooManyRequests(DomainError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many requests; try again later"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"
    default_message = "The database is unavailable; try again shortly"

    def __init__(self, message: str | None = None, *, retry_after: int = 2) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})


# The ERPNext-style surface (§9) answers every failure in one Stripe-like object.
STRIPE_STYLE_PREFIX = "/api/crm/"
_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    429: "rate_limit_error",
}


def stripe_body(error: DomainError) -> dict[str, Any]:
    """``{"error": {"type", "code", "message", "param"}}``: ``param`` names the first field
    at fault (null when none), ``message`` says what is wrong with it."""
    param: str | None = None
    message = error.message
    if error.field_errors:
        param, messages = next(iter(error.field_errors.items()))
        message = messages[0] if messages else message
    if error.status_code >= 500:
        kind = "api_error"
    else:
        kind = _ERROR_TYPES.get(error.status_code, "invalid_request_error")
    code = "resource_missing" if error.status_code == 404 else error.code
    return {"error": {"type": kind, "code": code, "message": message, "param": param}}


def body_for(path: str, error: DomainError) -> dict[str, Any]:
    """The error body for a request path: the §9 shape under /api/crm/, else §1.6."""
    if path.startswith(STRIPE_STYLE_PREFIX) or path == STRIPE_STYLE_PREFIX.rstrip("/"):
        return stripe_body(error)
    return error.body()


def render(error: DomainError, request: Request | None = None) -> JSONResponse:
    body = body_for(request.url.path, error) if request is not None else error.body()
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


async def send_error(send: Send, path: str, error: DomainError) -> None:
    """Answer with ``error`` straight from an ASGI middleware (before or instead of the app),
    in the same shape and with the same headers as ``render``."""
    body = json.dumps(body_for(path, error)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in error.headers.items()
        ),
    ]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_message(err: Mapping[str, Any]) -> str:
    """The text of one pydantic error: our own validator's words without "Value error, "."""
    context = err.get("ctx") or {}
    if err.get("type") == "value_error" and "error" in context:
        return str(context["error"])
    return str(err.get("msg", "Invalid value"))


def _field_name(loc: Sequence[Any]) -> str:
    # loc = ("body", "users", 0) -> "users"; ("query", "limit") -> "limit"; ("body",) -> body itself.
    parts = [str(p) for p in loc[1:] if not isinstance(p, int)]
    return parts[0] if parts else "non_field_errors"


def validation_error_to_domain(exc: RequestValidationError) -> DomainError:
    errors = exc.errors()
    if any(err.get("loc", ("",))[0] == "path" for err in errors):
        return NotFound()
    if any(err.get("type") == "json_invalid" for err in errors):
        return ValidationFailed("Malformed JSON body", code="malformed_json")
    fields: FieldErrors = {}
    for err in errors:
        msg = error_message(err)
        fields.setdefault(_field_name(err.get("loc", ("body",))), []).append(msg)
    return ValidationFailed(field_errors=fields)


_HTTP_STATUS_ERRORS: dict[int, type[DomainError]] = {
    401: NotAuthenticated,
    403: PermissionDenied,
    404: NotFound,
    413: PayloadTooLarge,
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, PermissionDenied):
            # Every 403 passes here: the one place denials reach the audit log.
            record_denial(exc.code, exc.message, exc.required_role)
        return render(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return render(validation_error_to_domain(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        error_cls = _HTTP_STATUS_ERRORS.get(exc.status_code)
        if error_cls is not None:
            return render(error_cls(), request)
        error = DomainError(str(exc.detail), code=f"http_{exc.status_code}", headers=exc.headers)
        error.status_code = exc.status_code
        return render(error, request)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # Services check uniqueness first; this is the race between two writers.
        logger.info("integrity error: %s", exc.orig)
        conflict = Conflict("A record with these values already exists", code="duplicate")
        return render(conflict, request)

    # Database failures: unreachable, restarting, pool exhausted -> 503 with Retry-After
    # (the client may retry; the pool reconnects by itself); anything else is a bug -> 500.
    # OSError covers the driver's own socket errors, which SQLAlchemy does not wrap.
    async def _database(request: Request, exc: Exception) -> Response:
        return render(unexpected_error(exc), request)

    for failure in (DBAPIError, PoolTimeout, OSError):
        app.add_exception_handler(failure, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return render(unexpected_error(exc), request)


def unexpected_error(exc: BaseException) -> DomainError:
    """The answer to an exception no domain error describes, logged: 503 when the database
    cannot be reached right now (see ``database_unavailable``), else 500."""
    if database_unavailable(exc):
        logger.warning("database unavailable: %s", failure_reason(exc))
        return ServiceUnavailable()
    logger.error("unhandled error", exc_info=exc)
    return internal_error()


def internal_error() -> DomainError:
    error = DomainError("Internal server error", code="internal_error")
    error.status_code = 500
    return error
