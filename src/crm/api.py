"""Every router of the API, in one list: the place to register a new domain module."""

from __future__ import annotations

from fastapi import APIRouter

from crm.accounts.routes import router as accounts_router
from crm.activity.routes import router as activity_router
from crm.api_keys.routes import router as api_keys_router
from crm.api_settings.routes import router as api_settings_router
from crm.audit.routes import router as audit_router
from crm.auth.routes import router as auth_router
from crm.cases.routes import router as cases_router
from crm.companies.routes import router as companies_router
from crm.contacts.routes import router as contacts_router
from crm.dashboard.routes import router as dashboard_router
from crm.documents.routes import router as documents_router
from crm.erp.routes import router as erp_router
from crm.events.routes import router as events_router
from crm.imports.routes import router as imports_router
from crm.invoices.routes import router as invoices_router
from crm.leads.routes import router as leads_router
from crm.opportunities.routes import router as opportunities_router
from crm.orgs.routes import router as orgs_router
from crm.search.routes import router as search_router
from crm.tags.routes import router as tags_router
from crm.tasks.routes import router as tasks_router
from crm.teams.routes import router as teams_router
from crm.users.routes import router as users_router

ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    orgs_router,
    users_router,
    teams_router,
    api_settings_router,
    api_keys_router,
    audit_router,
    tags_router,
    accounts_router,
    dashboard_router,
    search_router,
    contacts_router,
    opportunities_router,
    erp_router,
    cases_router,
    tasks_router,
    events_router,
    invoices_router,
    documents_router,
    # Before the leads router: /api/leads/{lead_id}/ would otherwise take /api/leads/companies/.
    companies_router,
    # /api/leads/upload/ likewise.
    imports_router,
    # Path ids only match UUIDs, so its /api/<module>/<id>/ routes shadow no literal path.
    activity_router,
    # After every router with a literal /api/leads/<word>/ path (companies, upload).
    leads_router,
)
