"""What a record module built on the kit shares: the repository and the service rules of a
record with an optional account, contacts, assignees, teams and tags (cases, tasks ...).

A module subclasses :class:`RecordRepository` and :class:`RecordService`, names its model
and activity kind, and writes only what differs: its fields, filters and vocabulary.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad

from crm.activity.schemas import AttachmentRead, CommentRead
from crm.activity.service import ActivityService
from crm.core.errors import NotFound, PermissionDenied
from crm.core.pagination import Keyset, PageParams
from crm.core.permissions import can_see, ensure_can_delete
from crm.core.tenancy import TenantContext
from crm.models import Account, Contact
from crm.models.records import SalesRecord
from crm.records.errors import UnknownAccount, UnknownContacts
from crm.records.repository import (
    LinkIds,
    Pick,
    PickerKind,
    contacts_by_ids,
    link_ids_of,
    link_loaders,
    older_than,
    pickers,
    visible,
    visible_by_id,
)
from crm.records.service import RecordLinks


class Filters(Protocol):
    def conditions(self) -> list[ColumnElement[bool]]: ...


R = TypeVar("R", bound=SalesRecord)


class RecordRepository(Generic[R]):
    model: ClassVar[type[Any]]
    name_field: ClassVar[str] = "name"  # unique per org, case-insensitively
    lookups_of_list: ClassVar[tuple[PickerKind, ...]] = ("accounts", "contacts", "users", "teams")

    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def _link_loaders(self) -> list[_AbstractLoad]:
        return [*link_loaders(self.model), selectinload(self.model.contacts)]

    def _loaders(self) -> list[_AbstractLoad]:
        """What a detail shows: the links, and the account (for its name) when there is one."""
        loaders = self._link_loaders()
        if "account" in sa_inspect(self.model).relationships:
            loaders.append(joinedload(self.model.account))
        return loaders

    def _filtered(self, filters: Filters) -> Select[Any]:
        return visible(self.model, self.tenant).where(*filters.conditions())

    def _newest_first(self) -> list[Any]:
        return [self.model.created_on.desc(), self.model.id.desc()]

    async def count(self, filters: Filters) -> int:
        statement = self._filtered(filters).with_only_columns(func.count())
        return int(await self.session.scalar(statement) or 0)

    async def page(self, filters: Filters, params: PageParams) -> list[R]:
        """One page, newest first, without links (``links_of`` loads those for the page)."""
        statement = (
            self._filtered(filters)
            .where(*older_than(self.model, params.after))
            .order_by(*self._newest_first())
            .limit(params.fetch)
            .offset(params.offset)
        )
        return list((await self.session.execute(statement)).scalars())

    async def links_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LinkIds]:
        return await link_ids_of(self.session, self.model, ids, contacts=True)

    async def lookups(self) -> dict[PickerKind, list[Pick]]:
        return await pickers(self.session, self.tenant, self.lookups_of_list)

    async def get(self, record_id: uuid.UUID) -> R | None:
        """The record in this org, visible or not (the caller checks visibility)."""
        statement = (
            select(self.model)
            .where(self.model.org_id == self.tenant.org_id, self.model.id == record_id)
            .options(*self._loaders())
        )
        return (await self.session.execute(statement)).unique().scalar_one_or_none()

    async def of_account(self, account_id: uuid.UUID) -> list[R]:
        """The visible records of an account, newest first, links loaded (account detail)."""
        statement = (
            visible(self.model, self.tenant)
            .where(self.model.account_id == account_id)
            .options(*self._link_loaders())
            .order_by(*self._newest_first())
        )
        return list((await self.session.execute(statement)).scalars())

    async def name_taken(self, name: str, exclude: uuid.UUID | None = None) -> bool:
        column = getattr(self.model, self.name_field)
        statement = select(self.model.id).where(
            self.model.org_id == self.tenant.org_id, func.lower(column) == name.lower()
        )
        if exclude is not None:
            statement = statement.where(self.model.id != exclude)
        return (await self.session.scalar(statement.limit(1))) is not None

    async def visible_account(self, account_id: uuid.UUID) -> Account | None:
        return await visible_by_id(self.session, self.tenant, Account, account_id)

    async def contacts_by_ids(self, ids: Sequence[uuid.UUID]) -> list[Contact]:
        return await contacts_by_ids(self.session, self.tenant, ids)

    def add(self, record: R) -> None:
        self.session.add(record)

    async def delete(self, record: R) -> None:
        await self.session.delete(record)
        await self.session.flush()


Repo = TypeVar("Repo", bound=RecordRepository[Any])


class RecordService(Generic[R, Repo]):
    """The §1.3 rules and the shared reads and writes of a linked record."""

    kind: ClassVar[str]  # the activity kind: "case", "task" ...
    repository: ClassVar[type[Any]]  # the module's RecordRepository subclass
    name_taken_error: ClassVar[type[Any]]  # the module's ValidationFailed for a taken name

    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.records: Repo = type(self).repository(session, tenant)
        self.links = RecordLinks(session, tenant)
        self.activity = ActivityService(session, tenant)

    # -- reads ----------------------------------------------------------------------

    async def count(self, filters: Filters) -> int:
        return await self.records.count(filters)

    async def page(self, filters: Filters, params: PageParams) -> list[R]:
        return await self.records.page(filters, params)

    async def links_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LinkIds]:
        return await self.records.links_of(ids)

    async def listed(
        self, filters: Filters, params: PageParams
    ) -> tuple[int, list[tuple[R, LinkIds]], Keyset | None]:
        """How many match, one page with each record's links, and in cursor mode where the
        next page starts (None: the last page): 3 statements at most."""
        total = await self.count(filters)
        rows = params.window(await self.page(filters, params) if params.shows(total) else [])
        links = await self.links_of([r.id for r in rows.rows])
        return total, [(r, links[r.id]) for r in rows.rows], rows.more

    async def lookups(self) -> dict[PickerKind, list[Pick]]:
        """Pickers: visible accounts and contacts, active members, teams (100 at most)."""
        return await self.records.lookups()

    async def of_account(self, account_id: uuid.UUID) -> list[R]:
        return await self.records.of_account(account_id)

    async def get_visible(self, record_id: uuid.UUID) -> R:
        """The record, if the caller may see it: another org's is 404, a hidden one 403."""
        record = await self.records.get(record_id)
        if record is None:
            raise NotFound()
        if not can_see(record.created_by_id, (p.id for p in record.assigned_to), self.tenant):
            raise PermissionDenied()
        found: R = record
        return found

    async def activity_of(self, record: R) -> tuple[list[CommentRead], list[AttachmentRead]]:
        return await self.activity.for_parent(self.kind, record.id)

    async def users_mention(self, record: R) -> list[dict[str, str]]:
        return await self.links.users_mention(record)

    def may_comment(self, record: R) -> bool:
        """Django-CRM's ``comment_permission``: an admin or the creator."""
        return self.tenant.is_admin or record.created_by_id == self.tenant.profile_id

    # -- writes ---------------------------------------------------------------------

    async def delete(self, record_id: uuid.UUID) -> list[str]:
        """Delete the record (admin or creator); its comments, attachment rows and links go
        with it. Returns the storage keys of its files, to discard once committed."""
        record = await self.get_visible(record_id)
        ensure_can_delete(record.created_by_id, self.tenant)
        files = await self.activity.storage_keys(self.kind, [record.id])
        await self.records.delete(record)
        return files

    async def _check_name(self, name: str | None, exclude: uuid.UUID | None = None) -> None:
        if name is not None and await self.records.name_taken(name, exclude=exclude):
            raise type(self).name_taken_error()

    async def _account(self, account_id: uuid.UUID | None) -> uuid.UUID | None:
        if account_id is None:
            return None
        account = await self.records.visible_account(account_id)
        if account is None:
            raise UnknownAccount()
        return account.id

    async def _contacts(self, ids: Sequence[uuid.UUID]) -> list[Contact]:
        wanted = list(dict.fromkeys(ids))
        found = {c.id: c for c in await self.records.contacts_by_ids(wanted)}
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise UnknownContacts(missing)
        return [found[i] for i in wanted]

    async def _reload(self, record_id: uuid.UUID) -> R:
        self.session.expire_all()
        record = await self.records.get(record_id)
        if record is None:
            raise NotFound()
        found: R = record
        return found
