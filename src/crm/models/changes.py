"""Which orgs a transaction changed, and the bump of their ``data_version`` at commit.

Cached responses (crm.records.caching) are keyed by the org's ``data_version``, read with
the caller's membership at the start of each request. Every transaction that writes an
org's data bumps that number in the same transaction, so the old entries can never be
served again once the change is visible, in any worker or process:

- flushed ORM objects: a tenant-owned row names its org; a changed user (whose e-mail the
  member lookups show) retires every org the user belongs to;
- DML statements run through the session (bulk UPDATE/DELETE/INSERT): the bound org, or,
  without one, every org when the table is tenant-owned or ``users``.

Invalidation errs on the side of too much: any change to an org retires all of its
entries.
"""

from __future__ import annotations

import uuid
from itertools import chain
from typing import Any

from sqlalchemy import Table, Uuid, bindparam, event, text, update
from sqlalchemy.orm import ORMExecuteState, Session

from crm.core.db import CRMSession
from crm.core.tenancy import TenantOwned, current_tenant, is_tenant_table
from crm.models.identity import Org, User

_ORGS = "crm.changed_orgs"
_USERS = "crm.changed_users"
_ALL = "crm.changed_all_orgs"


def _orgs(session: Session) -> set[uuid.UUID]:
    found: set[uuid.UUID] = session.info.setdefault(_ORGS, set())
    return found


@event.listens_for(CRMSession, "before_flush")
def _note_flushed(session: Session, _context: Any, _instances: Any) -> None:
    users: set[uuid.UUID] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, TenantOwned):
            org_id = obj.org_id
            if org_id is None:
                tenant = current_tenant(session)
                org_id = tenant.org_id if tenant is not None else None
            if org_id is not None:
                _orgs(session).add(org_id)
        elif isinstance(obj, User) and obj.id is not None:
            users.add(obj.id)
    if users:
        session.info.setdefault(_USERS, set()).update(users)


def _target(state: ORMExecuteState) -> Any:
    table = getattr(state.statement, "table", None)
    return table if isinstance(table, Table) else None


@event.listens_for(CRMSession, "do_orm_execute")
def _note_dml(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = _target(state)
    if table is None or table is Org.__table__:
        return
    tenant_owned = is_tenant_table(table)
    if not tenant_owned and table is not User.__table__:
        return
    tenant = current_tenant(state.session)
    if tenant is not None and tenant_owned:
        _orgs(state.session).add(tenant.org_id)
    else:
        state.session.info[_ALL] = True


@event.listens_for(CRMSession, "before_commit")
def _bump_versions(session: Session) -> None:
    # Commit flushes after this hook: flush now, so pending changes are noted too.
    if session.new or session.dirty or session.deleted:
        session.flush()
    orgs = session.info.pop(_ORGS, None)
    users = session.info.pop(_USERS, None)
    every = session.info.pop(_ALL, False)
    if not (orgs or users or every):
        return
    bump = Org.data_version + 1
    if every:
        session.execute(update(Org).values(data_version=bump))
        return
    if orgs:
        session.execute(update(Org).where(Org.id.in_(sorted(orgs))).values(data_version=bump))
    if users:
        # Every org of these users, whichever org this session serves: plain SQL, which the
        # tenant guard leaves alone.
        session.execute(_BUMP_ORGS_OF_USERS, {"users": sorted(users)})


_BUMP_ORGS_OF_USERS = text(
    "UPDATE orgs SET data_version = data_version + 1 "
    "WHERE id IN (SELECT org_id FROM profiles WHERE user_id IN :users)"
).bindparams(bindparam("users", expanding=True, type_=Uuid()))


@event.listens_for(CRMSession, "after_rollback")
def _forget(session: Session) -> None:
    for key in (_ORGS, _USERS, _ALL):
        session.info.pop(key, None)
