"""/api/audit-log/: the org's security events, newest first (admins only).

An admin sees the events that happened in the org (permission denials, API-key use and
changes) and the org-less events (logins, failed logins, logouts, refresh-token reuse) of
the org's members; failed logins for unknown e-mails belong to no org and nobody sees them
here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from crm.audit.permissions import AuditLog
from crm.audit.repository import EventFilters
from crm.audit.schemas import SecurityEventOut
from crm.core.audit import SecurityEventKind
from crm.core.errors import ValidationFailed
from crm.core.filters import id_list, text_list
from crm.core.pagination import Page, Pagination

router = APIRouter(prefix="/api/audit-log", tags=["audit-log"])

_KINDS = tuple(kind.value for kind in SecurityEventKind)


def _kinds(values: list[str] | None) -> list[str] | None:
    kinds = text_list(values)
    if kinds is None:
        return None
    wanted = [kind.lower() for kind in kinds]
    unknown = [kind for kind in wanted if kind not in _KINDS]
    if unknown:
        raise ValidationFailed.on("kind", f"Use one of: {', '.join(_KINDS)}")
    return wanted


@router.get("/", response_model=Page[SecurityEventOut])
async def list_security_events(
    log: AuditLog,
    request: Request,
    page: Pagination,
    kind: Annotated[
        list[str] | None, Query(description="Event kinds (repeat or comma list)")
    ] = None,
    user: Annotated[list[str] | None, Query(description="User (account) ids")] = None,
    email: Annotated[
        str | None, Query(max_length=320, description="Part of the e-mail typed at login")
    ] = None,
    since: Annotated[datetime | None, Query(description="From this time on (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Up to this time (ISO 8601)")] = None,
) -> Page[SecurityEventOut]:
    """The org's security events, newest first; ``since`` and ``until`` both count."""
    filters = EventFilters(
        kinds=_kinds(kind),
        user_ids=id_list(user, "user"),
        email=email.strip() if email and email.strip() else None,
        since=since,
        until=until,
    )
    rows, total = await log.page(filters, page)
    return Page[SecurityEventOut].build(
        request, page, total, [SecurityEventOut.model_validate(row) for row in rows]
    )
