"""Contact use cases and rules: ``primary_email`` unique per org (case-insensitive);
assignees, teams and tags belong to the org; see/change: admin, creator, assignee, or an
assignee of an account listing the contact; delete: admin or creator (§1.3, §5)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.activity.schemas import AttachmentRead, CommentRead
from crm.activity.service import ActivityService
from crm.contacts.errors import ContactEmailTaken
from crm.contacts.repository import ContactFilters, ContactRepository
from crm.contacts.schemas import ContactCreate, ContactUpdate
from crm.core.errors import NotFound, PermissionDenied
from crm.core.pagination import PageParams
from crm.core.permissions import can_see, ensure_can_delete
from crm.core.tenancy import TenantContext
from crm.models import Account, Contact, Opportunity
from crm.records.service import LINK_FIELDS, RecordLinks


class ContactService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.contacts = ContactRepository(session, tenant)
        self.links = RecordLinks(session, tenant)
        self.activity = ActivityService(session, tenant)

    async def page(self, filters: ContactFilters, params: PageParams) -> tuple[list[Contact], int]:
        return await self.contacts.page(filters, params)

    async def get_visible(self, contact_id: uuid.UUID) -> Contact:
        """The contact, if the caller may see it: another org's is 404, a hidden one 403."""
        contact = await self.contacts.get(contact_id)
        if contact is None:
            raise NotFound()
        if not (
            can_see(contact.created_by_id, (p.id for p in contact.assigned_to), self.tenant)
            or await self.contacts.listed_by_assigned_account(contact.id)
        ):
            raise PermissionDenied()
        return contact

    async def create(self, data: ContactCreate) -> Contact:
        if await self.contacts.email_taken(data.primary_email):
            raise ContactEmailTaken()
        values = data.model_dump()
        contact = Contact(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            **{k: v for k, v in values.items() if k not in LINK_FIELDS},
            **await self.links.initial(values),
        )
        self.contacts.add(contact)
        await self.session.flush()
        return await self._reload(contact.id)

    async def update(self, contact_id: uuid.UUID, data: ContactUpdate) -> Contact:
        contact = await self.get_visible(contact_id)
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        email = changes.get("primary_email")
        if (
            email is not None
            and email.lower() != contact.primary_email.lower()
            and await self.contacts.email_taken(email, exclude=contact.id)
        ):
            raise ContactEmailTaken()
        for key, value in changes.items():
            if key not in LINK_FIELDS:
                setattr(contact, key, value)
        await self.links.apply(contact, changes)
        await self.session.flush()
        return await self._reload(contact.id)

    async def delete(self, contact_id: uuid.UUID) -> list[str]:
        """Delete the contact; its comments, attachment rows and links go with it. Returns the
        storage keys of its files, for the caller to discard once the deletion is committed."""
        contact = await self.get_visible(contact_id)
        ensure_can_delete(contact.created_by_id, self.tenant)
        files = await self.activity.storage_keys("contact", [contact.id])
        await self.contacts.delete(contact)
        return files

    async def accounts_of(self, contact: Contact) -> list[Account]:
        return await self.contacts.accounts_of(contact.id)

    async def opportunities_of(self, contact: Contact) -> list[Opportunity]:
        return await self.contacts.opportunities_of(contact.id)

    async def activity_of(self, contact: Contact) -> tuple[list[CommentRead], list[AttachmentRead]]:
        """The contact's comments and attachments, newest first."""
        return await self.activity.for_parent("contact", contact.id)

    async def users_mention(self, contact: Contact) -> list[dict[str, str]]:
        return await self.links.users_mention(contact)

    async def _reload(self, contact_id: uuid.UUID) -> Contact:
        self.session.expire_all()
        contact = await self.contacts.get(contact_id)
        if contact is None:
            raise NotFound()
        return contact
