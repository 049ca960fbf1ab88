"""The §1.3 record rules, in one place for every module.

- See: an admin sees every record of the org; a user sees the records they created or are
  assigned to.
- Change: the same people who can see the record.
- Delete: an admin or the record's creator (assignees cannot delete).

A record type opts in by having ``created_by_id`` and an ``assigned_to`` relationship to
profiles (see :class:`Assignable`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import ColumnElement, or_, true

from crm.core.errors import PermissionDenied
from crm.core.tenancy import TenantContext


class Assignable(Protocol):
    created_by_id: Any
    assigned_to: Any


def visible_to(model: type[Any], tenant: TenantContext) -> ColumnElement[bool]:
    """A WHERE clause: the rows of ``model`` the caller may see."""
    if tenant.is_admin:
        return true()
    return created_or_assigned(model, tenant.profile_id)


def created_or_assigned(model: type[Any], profile_id: Any) -> ColumnElement[bool]:
    """Rows created by, or assigned to, ``profile_id`` (a value or a bound parameter)."""
    return or_(model.created_by_id == profile_id, model.assigned_to.any(id=profile_id))


def can_see(
    created_by_id: uuid.UUID | None, assignee_ids: Iterable[uuid.UUID], tenant: TenantContext
) -> bool:
    return (
        tenant.is_admin
        or created_by_id == tenant.profile_id
        or tenant.profile_id in set(assignee_ids)
    )


def ensure_can_delete(created_by_id: uuid.UUID | None, tenant: TenantContext) -> None:
    if not (tenant.is_admin or (created_by_id is not None and created_by_id == tenant.profile_id)):
        raise PermissionDenied()


class AdminRequired(PermissionDenied):
    """The §1.3 refusal of a non-admin (same body as any 403; the audit log notes the role)."""

    required_role = "ADMIN"


def ensure_admin(tenant: TenantContext) -> None:
    if not tenant.is_admin:
        raise AdminRequired()
