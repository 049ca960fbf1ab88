"""The ASGI application: settings, database, middleware, error handlers and routers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.types import Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from crm.api import ROUTERS
from crm.audit import service as audit_log
from crm.auth.google import GoogleUserinfoVerifier, GoogleVerifier
from crm.core.audit import AuditTrail, PendingEvent
from crm.core.cache import ResponseCache
from crm.core.concurrency import ConditionalRequestMiddleware, capture_subject
from crm.core.config import Settings, get_settings
from crm.core.db import Database
from crm.core.errors import install_error_handlers
from crm.core.logging import configure_logging
from crm.core.mail import Mailer, SmtpMailer
from crm.core.middleware import (
    AuditTrailMiddleware,
    NulCharacterMiddleware,
    RequestIdMiddleware,
    TrailingSlashMiddleware,
)
from crm.core.queue import BrokerDispatcher, Dispatcher, broker, runtime
from crm.core.ratelimit import Counter, RateLimitMiddleware, make_counter
from crm.core.storage import LocalStorage, Storage
from crm.emails import jobs as email_jobs
from crm.emails.service import EmailDelivery
from crm.idempotency.middleware import IdempotencyMiddleware
from crm.idempotency.service import IdempotencyStore
from crm.imports import jobs as import_jobs
from crm.imports.service import ImportRunner

logger = logging.getLogger("crm.app")

API_DESCRIPTION = """
Multi-tenant CRM with a Django-CRM-compatible REST API.

Authenticate with `Authorization: Bearer <access token>` (from `/api/auth/login/`) and name the
organization with the `organization-id` header (alias `org`), or send an org API key in `Token`.
Errors: `401 {"detail", "code"}`; every other failure `{"error": true, "errors": ..., "code"}`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    google_verifier: GoogleVerifier | None = None,
    counter: Counter | None = None,
    dispatcher: Dispatcher | None = None,
    mailer: Mailer | None = None,
    storage: Storage | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Jobs run in this process with the in-memory broker: give them what they need.
        runtime.services["email_delivery"] = app.state.email_delivery
        runtime.services["import_runner"] = app.state.import_runner
        await broker.startup()
        sweeper = asyncio.create_task(_sweep_forever(app), name="crm-email-sweeper")
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await broker.shutdown()
            await app.state.counter.close()
            if app.state.owns_database:
                await app.state.database.dispose()

    app = FastAPI(
        title="CRM API",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        redirect_slashes=False,
        # Notes the record each request is about, for ETag / If-Match (core.concurrency).
        dependencies=[Depends(capture_subject)],
    )
    configure_state(
        app,
        settings,
        database=database,
        google_verifier=google_verifier,
        counter=counter,
        dispatcher=dispatcher,
        mailer=mailer,
        storage=storage,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)

    async def write_audit_trail(
        _scope: Scope, trail: AuditTrail, events: list[PendingEvent]
    ) -> None:
        await audit_log.write_trail(app.state.database, trail, events)

    # Added innermost first: requests pass ProxyHeaders (only with CRM_TRUSTED_PROXIES) ->
    # RequestId -> RateLimit -> NulCharacter -> TrailingSlash -> AuditTrail -> Idempotency ->
    # ConditionalRequest -> app. (The audit trail knows the request id and the normalised
    # path.)
    app.add_middleware(ConditionalRequestMiddleware)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(AuditTrailMiddleware, sink=write_audit_trail)
    app.add_middleware(TrailingSlashMiddleware)
    app.add_middleware(NulCharacterMiddleware)
    app.add_middleware(RateLimitMiddleware, state=app.state)
    app.add_middleware(RequestIdMiddleware)
    if settings.trusted_proxies:
        # uvicorn's: the client is the right-most X-Forwarded-For address that is not a
        # trusted proxy; X-Forwarded-Proto is believed from those proxies too.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app


def configure_state(
    app: FastAPI,
    settings: Settings,
    *,
    database: Database | None = None,
    google_verifier: GoogleVerifier | None = None,
    counter: Counter | None = None,
    dispatcher: Dispatcher | None = None,
    mailer: Mailer | None = None,
    storage: Storage | None = None,
) -> None:
    """Everything a request reaches through ``app.state``, replaced as a whole: the routes
    read nothing else, so an app can be re-pointed (the tests reuse one app, whose routing
    FastAPI builds on the first request, with a fresh state per test)."""
    app.state.settings = settings
    app.state.owns_database = database is None
    app.state.database = database or Database.from_settings(settings)
    app.state.counter = counter or make_counter(settings.redis_url)
    app.state.response_cache = ResponseCache(settings.list_cache_entries)
    app.state.google_verifier = google_verifier or GoogleUserinfoVerifier()
    app.state.storage = storage or LocalStorage(settings.data_dir / "attachments")
    app.state.dispatcher = dispatcher or BrokerDispatcher()
    app.state.email_delivery = EmailDelivery(
        app.state.database, mailer or SmtpMailer(settings), settings
    )
    app.state.import_runner = ImportRunner(app.state.database, app.state.storage, settings)


AUDIT_PRUNE_SECONDS = 3600.0


async def _sweep_forever(app: FastAPI) -> None:
    """Dispatch due work now and every ``CRM_EMAIL_SWEEP_SECONDS``: e-mails (scheduled,
    retried, or left over from before a restart) and imports (pending, or whose worker
    died). Claims make it safe for every worker process to sweep. Once an hour, delete the
    security events older than ``CRM_AUDIT_RETENTION_DAYS`` (a plain DELETE by time: safe
    for every worker to run too)."""
    delivery: EmailDelivery = app.state.email_delivery
    runner: ImportRunner = app.state.import_runner
    pruned_at: float | None = None
    while True:
        for sweep in (delivery.sweep, runner.sweep):
            try:
                await sweep(app.state.dispatcher)
            except Exception:
                logger.exception("sweep failed; retrying at the next interval")
        try:
            await IdempotencyStore(app.state.database).prune()
        except Exception:
            logger.exception("pruning idempotency keys failed; retrying at the next interval")
        if pruned_at is None or time.monotonic() - pruned_at >= AUDIT_PRUNE_SECONDS:
            pruned_at = time.monotonic()
            try:
                settings: Settings = app.state.settings
                await audit_log.prune(app.state.database, settings.audit_retention_days)
            except Exception:
                logger.exception("pruning the audit log failed; retrying in an hour")
        await asyncio.sleep(app.state.settings.email_sweep_seconds)


__all__ = ["configure_state", "create_app", "email_jobs", "import_jobs"]
