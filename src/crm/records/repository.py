"""Query pieces for sales records: visibility, eager-loaded links, shared filters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad

from crm.core.permissions import visible_to
from crm.core.tenancy import TenantContext
from crm.models import Contact, Profile, Tag
from crm.models.records import SalesRecord, link_table

R = TypeVar("R", bound=SalesRecord)


def link_loaders(model: type[SalesRecord]) -> list[_AbstractLoad]:
    """Load assignees (with their users), teams and tags in one statement each."""
    return [
        selectinload(model.assigned_to).selectinload(Profile.user),
        selectinload(model.teams),
        selectinload(model.tags),
    ]


_accounts_contacts = link_table("accounts", "contacts", "contacts", "contact_id")
_accounts_assignees = link_table("accounts", "assignees", "profiles", "profile_id")


def contact_via_assigned_account(tenant: TenantContext) -> ColumnElement[bool]:
    """Contacts listed by an account the caller is assigned to (§5.5: they may see those)."""
    return Contact.id.in_(
        select(_accounts_contacts.c.contact_id)
        .join(_accounts_assignees, _accounts_assignees.c.owner_id == _accounts_contacts.c.owner_id)
        .where(_accounts_assignees.c.profile_id == tenant.profile_id)
    )


def visible(model: type[R], tenant: TenantContext) -> Select[R]:
    """The records of ``model`` the caller may see, in the caller's org: everything for an
    admin; for a user what they created or are assigned to, and for contacts also those of
    accounts they are assigned to."""
    statement = select(model).where(model.org_id == tenant.org_id)
    if tenant.is_admin:
        return statement
    rule = visible_to(model, tenant)
    if model is Contact:
        rule = or_(rule, contact_via_assigned_account(tenant))
    return statement.where(rule)


def tagged_with(model: type[SalesRecord], names: Sequence[str]) -> ColumnElement[bool]:
    """Any of these tags, by name or slug, case-insensitively."""
    keys = [n.strip().lower() for n in names if n.strip()]
    if not keys:
        return false()
    return model.tags.any(or_(func.lower(Tag.name).in_(keys), Tag.slug.in_(keys)))


def assigned_to_any(model: type[SalesRecord], ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    return model.assigned_to.any(Profile.id.in_(list(ids)))


def contains_ci(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match (§1.5 text filters)."""
    return func.lower(column).contains(text.lower(), autoescape=True)


def equals_ci(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive exact match (§1.5 enum filters)."""
    return func.lower(column) == text.strip().lower()
