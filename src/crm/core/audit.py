"""The request's security trail: what the audit log (crm.audit) will record for it.

Code anywhere in a request notes events here (``record``) and who the caller turned out to
be (``note_actor``); nothing is written while the request runs. ``AuditTrailMiddleware``
hands the trail to a sink once the request is over, after its transaction has committed or
rolled back, so that a failed login or a 403 (whose transaction rolls back) is still
recorded, in a short transaction of its own. An event noted with ``committed_only`` (a
login, a key created) is dropped when the request failed: what it reports did not happen.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.core.clock import utcnow

logger = logging.getLogger("crm.audit")

USER_AGENT_MAX = 255
PATH_MAX = 500
EMAIL_MAX = 320


class SecurityEventKind(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    GOOGLE_LOGIN = "google_login"
    LOGOUT = "logout"
    REFRESH_REUSE = "refresh_reuse"
    PERMISSION_DENIED = "permission_denied"
    API_KEY_USED = "api_key_used"
    API_KEY_CREATED = "api_key_created"
    API_KEY_REVOKED = "api_key_revoked"


@dataclass(frozen=True, slots=True)
class PendingEvent:
    kind: SecurityEventKind
    occurred_at: datetime
    user_id: uuid.UUID | None
    org_id: uuid.UUID | None
    email: str | None
    detail: dict[str, Any]
    committed_only: bool


@dataclass(slots=True)
class AuditTrail:
    """One request's events and where they came from."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    method: str | None = None
    path: str | None = None
    # The caller, once authentication knows them (a denial is recorded only then).
    actor_user_id: uuid.UUID | None = None
    actor_org_id: uuid.UUID | None = None
    events: list[PendingEvent] = field(default_factory=list)
    status: int | None = None

    def to_write(self) -> list[PendingEvent]:
        failed = self.status is None or self.status >= 400
        return [e for e in self.events if not (failed and e.committed_only)]


_trail: ContextVar[AuditTrail | None] = ContextVar("crm_audit_trail", default=None)


def current_trail() -> AuditTrail | None:
    return _trail.get()


def record(
    kind: SecurityEventKind,
    *,
    user_id: uuid.UUID | None = None,
    org_id: uuid.UUID | None = None,
    email: str | None = None,
    detail: Mapping[str, Any] | None = None,
    committed_only: bool = False,
) -> None:
    """Note a security event of this request (outside a request: nothing is recorded)."""
    trail = _trail.get()
    if trail is None:
        return
    trail.events.append(
        PendingEvent(
            kind=kind,
            occurred_at=utcnow(),
            user_id=user_id,
            org_id=org_id,
            email=email[:EMAIL_MAX] if email is not None else None,
            detail=dict(detail or {}),
            committed_only=committed_only,
        )
    )


def note_actor(user_id: uuid.UUID, org_id: uuid.UUID | None = None) -> None:
    """Who is calling (and in which org, once their membership is known). Resolving the
    same user again without an org (a route that also asks for the bare user) keeps the
    org already known."""
    trail = _trail.get()
    if trail is None:
        return
    if org_id is not None or trail.actor_user_id != user_id:
        trail.actor_org_id = org_id
    trail.actor_user_id = user_id


def record_denial(code: str, message: str, required_role: str | None = None) -> None:
    """A 403 answered to a known caller: recorded in the caller's org (none when the caller
    is not a member of the org they named). A 403 to an unknown caller is not recorded."""
    trail = _trail.get()
    if trail is None or trail.actor_user_id is None:
        return
    detail: dict[str, Any] = {"code": code, "message": message}
    if required_role is not None:
        detail["required_role"] = required_role
    record(
        SecurityEventKind.PERMISSION_DENIED,
        user_id=trail.actor_user_id,
        org_id=trail.actor_org_id,
        detail=detail,
    )


def start_trail(trail: AuditTrail) -> Token[AuditTrail | None]:
    return _trail.set(trail)


def end_trail(token: Token[AuditTrail | None]) -> None:
    _trail.reset(token)
