"""Assignment notifications (§1.8): whoever is newly assigned to a sales record gets an
e-mail, on every record type, without each domain having to remember it.

A ``before_flush`` listener reads the assignee changes of each record being written and
adds one outbound e-mail row per new assignee (not the person making the change). The rows
commit with the record and are dispatched after commit; SMTP trouble only delays them, it
never fails the request.
"""

from __future__ import annotations

import html
import uuid
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from crm.core.db import CRMSession
from crm.core.queue import enqueue_after_commit
from crm.core.tenancy import current_tenant
from crm.emails.service import DELIVER_JOB
from crm.models import OutboundEmail, Profile
from crm.models.records import SalesRecord

_LABELS = {
    "accounts": "account",
    "contacts": "contact",
    "leads": "lead",
    "opportunities": "opportunity",
}


def _title(record: SalesRecord) -> str:
    """How the e-mail names the record: a person by their name (a contact's ``title`` is a
    job title, a lead's a subject line), anything else by its name."""
    first, last = getattr(record, "first_name", None), getattr(record, "last_name", None)
    if first is not None or last is not None:
        person = f"{first or ''} {last or ''}".strip() or "(unnamed)"
        subject = getattr(record, "title", None) if record.__tablename__ == "leads" else None
        return f"{person} ({subject})" if subject else person
    return str(getattr(record, "name", None) or "(untitled)")


def _new_assignees(record: SalesRecord) -> list[Profile]:
    state = inspect(record)
    if "assigned_to" in state.unloaded:
        return []
    return [p for p in state.attrs.assigned_to.history.added if isinstance(p, Profile)]


@event.listens_for(CRMSession, "before_flush")
def _notify_new_assignees(session: Session, _context: Any, _instances: Any) -> None:
    tenant = current_tenant(session)
    if tenant is None:
        return
    for record in list(session.new) + list(session.dirty):
        if not isinstance(record, SalesRecord):
            continue
        recipients = [p for p in _new_assignees(record) if p.id != tenant.profile_id]
        if not recipients:
            continue
        if record.id is None:
            record.id = uuid.uuid4()  # the e-mail names the record before its first flush
        kind = _LABELS.get(record.__tablename__, record.__tablename__)
        title = _title(record)
        for profile in recipients:
            user = profile.user if "user" not in inspect(profile).unloaded else None
            if user is None:
                continue
            email = OutboundEmail(
                id=uuid.uuid4(),
                org_id=tenant.org_id,
                created_by_id=tenant.profile_id,
                kind="notification",
                from_email="",
                recipients=[
                    {"email": user.email, "name": f"{user.first_name} {user.last_name}".strip()}
                ],
                subject=f"You have been assigned to the {kind} {title}",
                html=(
                    f"<p>You have been assigned to the {html.escape(kind)} "
                    f"<strong>{html.escape(title)}</strong> (id {record.id}).</p>"
                ),
            )
            session.add(email)
            enqueue_after_commit(session, DELIVER_JOB, str(email.id))
