"""Query pieces for sales records: visibility, eager-loaded links, shared filters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Uuid,
    bindparam,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad
from sqlalchemy.sql.base import Executable

from crm.core.pagination import LOOKUP_LIMIT, Keyset
from crm.core.permissions import created_or_assigned
from crm.core.tenancy import TenantContext
from crm.models import Account, Company, Contact, Profile, Tag, Team, User
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


def contact_via_assigned_account(profile_id: Any) -> ColumnElement[bool]:
    """Contacts listed by an account the caller is assigned to (§5.5: they may see those)."""
    return Contact.id.in_(
        select(_accounts_contacts.c.contact_id)
        .join(_accounts_assignees, _accounts_assignees.c.owner_id == _accounts_contacts.c.owner_id)
        .where(_accounts_assignees.c.profile_id == profile_id)
    )


def visible(model: type[R], tenant: TenantContext) -> Select[R]:
    """The records of ``model`` the caller may see, in the caller's org: everything for an
    admin; for a user what they created or are assigned to, and for contacts also those of
    accounts they are assigned to."""
    return _visible(model, tenant.org_id, None if tenant.is_admin else tenant.profile_id)


def _visible(model: type[R], org_id: Any, profile_id: Any | None) -> Select[R]:
    """``visible`` for an org and a non-admin profile (None: an admin), each a value or a
    bound parameter (statement templates built once, see ``_TEMPLATES``)."""
    statement = select(model).where(model.org_id == org_id)
    if profile_id is None:
        return statement
    rule = created_or_assigned(model, profile_id)
    if model is Contact:
        rule = or_(rule, contact_via_assigned_account(profile_id))
    return statement.where(rule)


# Statements that differ only in their parameters are built once and reused: building a
# SQLAlchemy statement costs more Python time than executing a cached one.
_TEMPLATES: dict[tuple[Any, ...], Executable] = {}


def statement_template(key: tuple[Any, ...], build: Callable[[], Executable]) -> Executable:
    """The statement built by ``build`` for ``key``, built on first use only."""
    statement = _TEMPLATES.get(key)
    if statement is None:
        statement = _TEMPLATES[key] = build()
    return statement


def tenant_params(tenant: TenantContext) -> dict[str, Any]:
    """The values of the ``org_id`` and ``profile_id`` parameters of ``visible_template``."""
    return {"org_id": tenant.org_id, "profile_id": tenant.profile_id}


def visible_template(model: type[R], is_admin: bool) -> Select[R]:
    """``visible`` for a statement built once (``statement_template``): the org and the
    caller are the bound parameters ``org_id`` and ``profile_id`` (``tenant_params``)."""
    return _visible(model, _org_param(), _profile_param(is_admin))


def _org_param() -> Any:
    return bindparam("org_id", type_=Uuid())


def _profile_param(tenant_is_admin: bool) -> Any:
    return None if tenant_is_admin else bindparam("profile_id", type_=Uuid())


# -- the default order, walked by keyset (cursor pages, exports) ---------------------------


def newest_first(model: type[SalesRecord]) -> list[Any]:
    """The default order of every record list: newest first, the id breaking ties."""
    return [model.created_on.desc(), model.id.desc()]


def older_than(model: Any, keyset: Keyset | None) -> list[ColumnElement[bool]]:
    """The rows of ``model`` (a record, or any table with ``created_on`` and ``id``) after
    ``keyset`` (the last one seen) in :func:`newest_first` order.

    A row-value comparison, not ``a < x OR (a = x AND b < y)``: PostgreSQL and SQLite both
    turn it into a range on the ``(org_id, [filter,] created_on, id)`` indexes."""
    if keyset is None:
        return []
    return [tuple_(model.created_on, model.id) < keyset]


async def keyset_chunks(
    fetch: Callable[[Keyset | None, int], Awaitable[Sequence[R]]], size: int
) -> AsyncIterator[Sequence[R]]:
    """Every record ``fetch`` finds, ``size`` at a time, each chunk starting after the last
    one's final record (no offset to skip, nothing seen twice as rows are added)."""
    keyset: Keyset | None = None
    while True:
        chunk = await fetch(keyset, size)
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        keyset = (chunk[-1].created_on, chunk[-1].id)


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


def only_filters(filters: Any, *allowed: str) -> bool:
    """Whether a filters dataclass sets nothing but the ``allowed`` fields (derived from its
    fields, so a filter added later is never mistaken for an unfiltered list)."""
    return not any(getattr(filters, f.name) for f in fields(filters) if f.name not in allowed)


def equals_ci(stored_lower: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive exact match (§1.5 enum filters) on a column that stores the value
    lower-cased (``Computed("lower(...)")``), so the comparison is a plain, leakproof
    equality that PostgreSQL uses as an index condition under row-level security."""
    matches: ColumnElement[bool] = stored_lower == text.strip().lower()
    return matches


@dataclass(slots=True)
class LinkIds:
    """A record's links as list items show them (§1.7): ids, and tag names."""

    assigned_to: list[uuid.UUID] = field(default_factory=list)
    teams: list[uuid.UUID] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    contacts: list[uuid.UUID] = field(default_factory=list)
    accounts: list[uuid.UUID] = field(default_factory=list)


def _link_statement(model: type[SalesRecord], contacts: bool, accounts: bool) -> Executable:
    """(owner_id, kind, target id, tag name, position) for the owners in ``owners``: one
    UNION ALL over the link tables, each numbered in its relationship's order."""
    table = model.__tablename__
    owners: Any = bindparam("owners", expanding=True)

    def part(role: str, target: Any, column: str, kind: str, name: Any, order: list[Any]) -> Any:
        link = link_table(table, role, target.__tablename__, column)
        position = func.row_number().over(partition_by=link.c.owner_id, order_by=order)
        return (
            select(link.c.owner_id, literal(kind), target.id, name, position)
            .join(target, target.id == link.c[column])
            .where(link.c.owner_id.in_(owners))
        )

    no_name = cast(null(), String)
    parts = [
        part("assignees", Profile, "profile_id", "a", no_name, [Profile.created_on, Profile.id]),
        part("teams", Team, "team_id", "t", no_name, [Team.name, Team.id]),
        part("tags", Tag, "tag_id", "g", Tag.name, [Tag.slug, Tag.id]),
    ]
    if contacts:
        order = [Contact.created_on, Contact.id]
        parts.append(part("contacts", Contact, "contact_id", "c", no_name, order))
    if accounts:
        order = [Account.name, Account.id]
        parts.append(part("accounts", Account, "account_id", "o", no_name, order))
    return union_all(*parts)


async def link_ids_of(
    session: AsyncSession,
    model: type[SalesRecord],
    ids: Sequence[uuid.UUID],
    *,
    contacts: bool,
    accounts: bool = False,
) -> dict[uuid.UUID, LinkIds]:
    """The links of a page of records in one statement, in the order the relationships
    define: assignees by join date, teams by name, tags by slug, contacts by creation.
    Owners are already org-scoped, and every link target is checked against the org when
    it is written."""
    found: dict[uuid.UUID, LinkIds] = {i: LinkIds() for i in ids}
    if not ids:
        return found
    statement = statement_template(
        ("links", model, contacts, accounts), lambda: _link_statement(model, contacts, accounts)
    )
    rows = (await session.execute(statement, {"owners": list(ids)})).all()
    for owner_id, kind, target_id, name, _position in sorted(rows, key=lambda r: r[4]):
        links = found[owner_id]
        if kind == "a":
            links.assigned_to.append(target_id)
        elif kind == "t":
            links.teams.append(target_id)
        elif kind == "g":
            links.tags.append(name)
        elif kind == "o":
            links.accounts.append(target_id)
        else:
            links.contacts.append(target_id)
    return found


PickerKind = Literal["accounts", "contacts", "companies", "users", "teams", "tags"]


@dataclass(frozen=True, slots=True)
class Pick:
    """One entry of a picker: an id and up to two texts (a contact's first and last name,
    a member's e-mail, a name)."""

    id: uuid.UUID
    text: str
    text2: str = ""


def _picker(kind: PickerKind, org_id: Any, profile_id: Any | None) -> tuple[Any, list[Any]]:
    """The statement (id, text, text2) and the order of one picker."""
    blank = literal("")
    if kind == "contacts":
        return _visible(Contact, org_id, profile_id).with_only_columns(
            Contact.id, Contact.first_name, Contact.last_name
        ), [Contact.first_name, Contact.last_name, Contact.id]
    if kind == "accounts":
        return _visible(Account, org_id, profile_id).with_only_columns(
            Account.id, Account.name, blank
        ), [Account.name, Account.id]
    if kind == "companies":
        return select(Company.id, Company.name, blank).where(Company.org_id == org_id), [
            Company.name,
            Company.id,
        ]
    if kind == "users":
        return select(Profile.id, User.email, blank).join(User, User.id == Profile.user_id).where(
            Profile.org_id == org_id, Profile.is_active.is_(True)
        ), [User.email, Profile.id]
    if kind == "teams":
        return select(Team.id, Team.name, blank).where(Team.org_id == org_id), [Team.name, Team.id]
    return select(Tag.id, Tag.name, blank).where(Tag.org_id == org_id), [Tag.slug, Tag.id]


def _pickers_statement(kinds: tuple[PickerKind, ...], is_admin: bool) -> Executable:
    parts = []
    for kind in kinds:
        statement, order = _picker(kind, _org_param(), _profile_param(is_admin))
        numbered = (
            statement.add_columns(
                literal(kind).label("kind"), func.row_number().over(order_by=order).label("n")
            )
            .order_by(*order)
            .limit(LOOKUP_LIMIT)
            .subquery()
        )
        parts.append(select(*numbered.c))
    return union_all(*parts)


async def pickers(
    session: AsyncSession, tenant: TenantContext, kinds: tuple[PickerKind, ...]
) -> dict[PickerKind, list[Pick]]:
    """The lookups a list offers its pickers (§1.7), each the first ``LOOKUP_LIMIT`` entries
    in its own order, all in one statement (a UNION ALL of limited subqueries, each row
    numbered so the database's order, collation included, is kept). Contacts and accounts
    are those the caller may see; members are the active ones."""
    found: dict[PickerKind, list[Pick]] = {kind: [] for kind in kinds}
    if not kinds:
        return found
    statement = statement_template(
        ("pickers", kinds, tenant.is_admin), lambda: _pickers_statement(kinds, tenant.is_admin)
    )
    rows = (await session.execute(statement, tenant_params(tenant))).all()
    for row in sorted(rows, key=lambda r: (r[3], r[4])):
        found[row[3]].append(Pick(row[0], row[1], row[2]))
    return found


async def contacts_by_ids(
    session: AsyncSession, tenant: TenantContext, ids: Sequence[uuid.UUID]
) -> list[Contact]:
    """The org's contacts among ``ids`` (a record may link any contact of its org)."""
    if not ids:
        return []
    statement = select(Contact).where(Contact.org_id == tenant.org_id, Contact.id.in_(list(ids)))
    return list((await session.execute(statement)).scalars())


async def visible_by_id(
    session: AsyncSession, tenant: TenantContext, model: type[R], record_id: uuid.UUID
) -> R | None:
    """The record if the caller may see it (a record another one may point at)."""
    statement = visible(model, tenant).where(model.id == record_id)
    return (await session.execute(statement)).scalar_one_or_none()
