"""Account use cases and rules: names unique per org (case-insensitive); contacts, assignees
and teams must belong to the org; see/change: admin, creator or assignee; delete: admin or
creator (§1.3, §4)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from crm.accounts.errors import AccountNameTaken
from crm.accounts.repository import AccountFilters, AccountRepository
from crm.accounts.schemas import AccountCreate, AccountMailIn, AccountUpdate
from crm.activity.schemas import AttachmentRead, CommentRead
from crm.activity.service import ActivityService
from crm.core.clock import utcnow
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.pagination import PageParams
from crm.core.permissions import can_see, ensure_can_delete
from crm.core.tenancy import TenantContext
from crm.emails.service import EmailOutbox, Recipient
from crm.models import Account, Contact, Opportunity, OutboundEmail
from crm.records.repository import LinkIds, Pick, PickerKind
from crm.records.service import RecordLinks

_SCALARS = (
    "name",
    "email",
    "phone",
    "industry",
    "description",
    "website",
    "status",
    "billing_address_line",
    "billing_street",
    "billing_city",
    "billing_state",
    "billing_postcode",
    "billing_country",
    "contact_name",
    "is_active",
)


class AccountService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.accounts = AccountRepository(session, tenant)
        self.links = RecordLinks(session, tenant)
        self.outbox = EmailOutbox(session, tenant)
        self.activity = ActivityService(session, tenant)

    async def counts(self, filters: AccountFilters) -> dict[str, int]:
        return await self.accounts.counts(filters)

    async def page(self, filters: AccountFilters, status: str, params: PageParams) -> list[Account]:
        return await self.accounts.page(filters, status, params)

    async def links_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LinkIds]:
        return await self.accounts.links_of(ids)

    async def get_visible(self, account_id: uuid.UUID) -> Account:
        """The account, if the caller may see it: another org's is 404, a hidden one 403."""
        account = await self.accounts.get(account_id)
        if account is None:
            raise NotFound()
        if not can_see(account.created_by_id, (p.id for p in account.assigned_to), self.tenant):
            raise PermissionDenied()
        return account

    async def create(self, data: AccountCreate) -> Account:
        if await self.accounts.name_taken(data.name):
            raise AccountNameTaken()
        values = data.model_dump(exclude_unset=True)
        account = Account(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            status=data.status,
            **{k: v for k, v in values.items() if k in _SCALARS and k != "status"},
            contacts=await self._contacts(data.contacts or []),
            **await self.links.initial(values),
        )
        self.accounts.add(account)
        await self.session.flush()
        return await self._reload(account.id)

    async def update(self, account_id: uuid.UUID, data: AccountUpdate) -> Account:
        account = await self.get_visible(account_id)
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        if changes.get("name") and await self.accounts.name_taken(
            changes["name"], exclude=account.id
        ):
            raise AccountNameTaken()
        for key in _SCALARS:
            if key in changes and (
                changes[key] is not None or key not in ("name", "status", "is_active")
            ):
                setattr(account, key, changes[key])
        if changes.get("contacts") is not None:
            account.contacts = await self._contacts(changes["contacts"])
        await self.links.apply(account, changes)
        await self.session.flush()
        return await self._reload(account.id)

    async def delete(self, account_id: uuid.UUID) -> list[str]:
        """Delete the account; its opportunities, comments and attachment rows go with it.
        Returns the storage keys of those files, to discard once the deletion committed."""
        account = await self.get_visible(account_id)
        ensure_can_delete(account.created_by_id, self.tenant)
        files = await self.activity.storage_keys("account", [account.id])
        opportunity_ids = await self.accounts.opportunity_ids_of(account.id)
        files += await self.activity.storage_keys("opportunity", opportunity_ids)
        await self.accounts.delete(account)
        return files

    async def activity_of(self, account: Account) -> tuple[list[CommentRead], list[AttachmentRead]]:
        return await self.activity.for_parent("account", account.id)

    async def send_mail(self, account_id: uuid.UUID, data: AccountMailIn) -> list[OutboundEmail]:
        """Queue an e-mail to each recipient (a contact of this org, or an address); it is sent
        in the background now, or at ``scheduled_date_time``."""
        account = await self.get_visible(account_id)
        if data.scheduled_later and data.scheduled_date_time is None:
            raise ValidationFailed.on(
                "scheduled_date_time", "Required when scheduled_later is true"
            )
        send_at = data.send_at()
        if send_at is not None and send_at <= utcnow():
            raise ValidationFailed.on("scheduled_date_time", "Choose a time in the future")
        recipients = await self._recipients(data.recipients)
        return await self.outbox.queue(
            recipients=recipients,
            subject=data.subject,
            html=data.html,
            account_id=account.id,
            from_email=data.from_email or "",
            scheduled_at=send_at,
            timezone=data.timezone,
        )

    async def emails_of(self, account: Account) -> list[OutboundEmail]:
        return await self.outbox.for_account(account.id)

    async def _recipients(self, values: Sequence[str]) -> list[Recipient]:
        ids: list[uuid.UUID] = []
        addresses: list[str] = []
        for value in values:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                try:
                    addresses.append(validate_email(value, check_deliverability=False).normalized)
                except EmailNotValidError as exc:
                    raise ValidationFailed.on(
                        "recipients", f"Please enter valid recipient: {value!r}"
                    ) from exc
        contacts = await self._contacts(ids) if ids else []
        recipients = [
            Recipient(c.primary_email, f"{c.first_name} {c.last_name}".strip(), c.id)
            for c in contacts
        ]
        recipients += [Recipient(address) for address in addresses]
        unique = {r.email.lower(): r for r in recipients}
        return list(unique.values())

    async def opportunities_of(self, account: Account) -> list[Opportunity]:
        return await self.accounts.opportunities_of(account.id)

    async def lookups(self) -> dict[PickerKind, list[Pick]]:
        """The list's pickers: visible contacts, active members, teams, tags."""
        return await self.accounts.lookups()

    async def users_mention(self, account: Account) -> list[dict[str, str]]:
        return await self.links.users_mention(account)

    async def _contacts(self, ids: Sequence[uuid.UUID]) -> list[Contact]:
        wanted = list(dict.fromkeys(ids))
        found = {c.id: c for c in await self.accounts.contacts_by_ids(wanted)}
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise ValidationFailed.on(
                "contacts", f"Not contacts of this organization: {', '.join(missing)}"
            )
        return [found[i] for i in wanted]

    async def _reload(self, account_id: uuid.UUID) -> Account:
        self.session.expire_all()
        account = await self.accounts.get(account_id)
        if account is None:
            raise NotFound()
        return account
