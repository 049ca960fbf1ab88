"""Every router of the API, in one list: the place to register a new domain module."""

from __future__ import annotations

from fastapi import APIRouter

from crm.accounts.routes import router as accounts_router
from crm.api_settings.routes import router as api_settings_router
from crm.auth.routes import router as auth_router
from crm.orgs.routes import router as orgs_router
from crm.tags.routes import router as tags_router
from crm.teams.routes import router as teams_router
from crm.users.routes import router as users_router

ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    orgs_router,
    users_router,
    teams_router,
    api_settings_router,
    tags_router,
    accounts_router,
)
