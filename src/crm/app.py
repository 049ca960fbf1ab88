"""The ASGI application: settings, database, middleware, error handlers and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crm.api import ROUTERS
from crm.auth.google import GoogleUserinfoVerifier, GoogleVerifier
from crm.core.config import Settings, get_settings
from crm.core.db import Database
from crm.core.errors import install_error_handlers
from crm.core.logging import configure_logging
from crm.core.middleware import NulCharacterMiddleware, RequestIdMiddleware, TrailingSlashMiddleware
from crm.core.ratelimit import Counter, make_counter

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
) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.counter.close()
        if owns_database:
            await app.state.database.dispose()

    owns_database = database is None
    app = FastAPI(
        title="CRM API",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.database = database or Database.from_settings(settings)
    app.state.counter = counter or make_counter(settings.redis_url)
    app.state.google_verifier = google_verifier or GoogleUserinfoVerifier()

    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    # Added innermost first: requests pass RequestId -> NulCharacter -> TrailingSlash -> app.
    app.add_middleware(TrailingSlashMiddleware)
    app.add_middleware(NulCharacterMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app
