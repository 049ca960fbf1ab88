"""Lead use cases and rules (§1.3, §6): see/change: admin, creator or assignee; delete: admin
or creator; contacts, company, assignees and teams must belong to the org.

Conversion (§6.5, the [HEAD] behaviour) turns a lead into an account, a contact (reused when
the org already has one with the lead's e-mail) and an opportunity, moves its comments and
attachments to the account and marks it ``converted``, all in the request's transaction: a
failure at any step leaves nothing behind. A converted lead is never converted again nor
moved back to another status.

Website capture (§6.8) resolves the key before any org is known, then acts in the key's org
as the key's creator, throttled per key.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.activity.schemas import AttachmentRead, CommentRead
from crm.activity.service import ActivityService
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.exports import Row
from crm.core.pagination import PageParams
from crm.core.permissions import can_see, ensure_can_delete
from crm.core.ratelimit import RateLimiter, Rule
from crm.core.tenancy import TenantContext, bind_tenant
from crm.leads.errors import (
    ConversionFieldsMissing,
    ConversionIrreversible,
    ConvertedAccountNameTaken,
    InvalidSiteKey,
    LeadAlreadyConverted,
)
from crm.leads.repository import LeadFilters, LeadRepository, SiteKeyRepository
from crm.leads.schemas import CONVERTED, LeadCreate, LeadUpdate, SiteLeadCreate, lead_export_row
from crm.models import Account, APISetting, Contact, Lead, Opportunity, Profile
from crm.records.repository import LinkIds, Pick, PickerKind
from crm.records.service import RecordLinks, export_rows

# Website capture: at most this many leads per key per window. A module constant until the
# settings grow a knob for it.
SITE_CAPTURE_WINDOW_SECONDS = 60  # CRM_LEAD_CAPTURE_PER_MINUTE leads per key per window

ACCOUNT_NAME_MAX = 64  # accounts.name is shorter than leads.account_name
OPPORTUNITY_NAME_MAX = 64
OPPORTUNITY_STAGE = "QUALIFICATION"
TITLE_MAX = 64

_SCALARS = (
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "status",
    "source",
    "account_name",
    "website",
    "description",
    "opportunity_amount",
    "address_line",
    "street",
    "city",
    "state",
    "postcode",
    "country",
    "probability",
    "close_date",
    "industry",
    "organization",
    "skype_id",
    "enquiry_type",
    "is_active",
)
_NOT_NULL = ("first_name", "last_name", "status", "probability", "is_active")
_ADDRESS = ("address_line", "street", "city", "state", "postcode", "country")


@dataclass(frozen=True, slots=True)
class LeadWrite:
    """A lead as written, with what it was converted into (all None until converted)."""

    lead: Lead
    account: Account | None = None
    contact: Contact | None = None
    opportunity: Opportunity | None = None


class LeadService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.leads = LeadRepository(session, tenant)
        self.links = RecordLinks(session, tenant)
        self.activity = ActivityService(session, tenant)

    # -- reads ----------------------------------------------------------------------------

    async def counts(self, filters: LeadFilters) -> dict[str, int]:
        return await self.leads.counts(filters)

    async def page(self, filters: LeadFilters, half: str, params: PageParams) -> list[Lead]:
        return await self.leads.page(filters, half, params)

    async def links_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LinkIds]:
        return await self.leads.links_of(ids)

    async def export(self, filters: LeadFilters, max_rows: int) -> AsyncIterator[list[Row]]:
        """Every lead the list would show for ``filters`` (both halves), as export rows."""
        counts = await self.leads.counts(filters)
        async for rows in export_rows(
            total=sum(counts.values()),
            max_rows=max_rows,
            fetch=lambda after, size: self.leads.export_chunk(filters, after, size),
            links_of=self.leads.links_of,
            row=lead_export_row,
        ):
            yield rows

    async def get_visible(self, lead_id: uuid.UUID) -> Lead:
        """The lead, if the caller may see it: another org's is 404, a hidden one 403."""
        lead = await self.leads.get(lead_id)
        if lead is None:
            raise NotFound()
        if not can_see(lead.created_by_id, (p.id for p in lead.assigned_to), self.tenant):
            raise PermissionDenied()
        return lead

    async def conversion_of(self, lead: Lead) -> LeadWrite:
        """The lead with the account, contact and opportunity it was converted into."""
        return LeadWrite(
            lead=lead,
            account=(
                await self.leads.converted_account(lead.converted_account_id)
                if lead.converted_account_id
                else None
            ),
            contact=(
                await self.leads.converted_contact(lead.converted_contact_id)
                if lead.converted_contact_id
                else None
            ),
            opportunity=(
                await self.leads.converted_opportunity(lead.converted_opportunity_id)
                if lead.converted_opportunity_id
                else None
            ),
        )

    async def lookups(self) -> dict[PickerKind, list[Pick]]:
        """The list's pickers: visible contacts, active members, tags, companies."""
        return await self.leads.lookups()

    async def users_mention(self, lead: Lead) -> list[dict[str, str]]:
        return await self.links.users_mention(lead)

    async def activity_of(self, lead: Lead) -> tuple[list[CommentRead], list[AttachmentRead]]:
        """The lead's comments and attachments (the caller has checked visibility)."""
        return await self.activity.for_parent("lead", lead.id)

    # -- writes ---------------------------------------------------------------------------

    async def create(self, data: LeadCreate) -> LeadWrite:
        converting = data.status == CONVERTED or data.auto_convert
        if converting:
            await self._ensure_convertible(data.email, data.account_name)
        values = data.model_dump(exclude_unset=True)
        if data.company is not None:
            await self._ensure_company(data.company)
        lead = Lead(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            first_name=data.first_name,
            last_name=data.last_name,
            status=data.status,
            probability=data.probability,
            company_id=data.company,
            **{k: v for k, v in values.items() if k in _SCALARS and k not in _NOT_NULL},
            is_active=bool(data.is_active),
            contacts=await self._contacts(data.contacts or []),
            **await self.links.initial(values),
        )
        self.leads.add(lead)
        await self.session.flush()
        if converting:
            await self._convert(lead)
            return await self._written(lead.id)
        if not (lead.assigned_to or lead.teams or lead.tags or lead.contacts):
            # Nothing stored that the lead does not hold already: every column was set here
            # (no server-side defaults) and its link lists are empty, so reading it back
            # would return the same answer for five more statements.
            return LeadWrite(lead=lead)
        return await self._written(lead.id)

    async def update(self, lead_id: uuid.UUID, data: LeadUpdate) -> LeadWrite:
        lead = await self.get_visible(lead_id)
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        status = changes.get("status")
        converting = status == CONVERTED or bool(changes.get("auto_convert"))
        if lead.status == CONVERTED:
            if converting:
                raise LeadAlreadyConverted()
            if status is not None:
                raise ConversionIrreversible()
        if converting:
            await self._ensure_convertible(
                changes.get("email", lead.email), changes.get("account_name", lead.account_name)
            )
        for key in _SCALARS:
            if key in changes and (changes[key] is not None or key not in _NOT_NULL):
                setattr(lead, key, changes[key])
        if "company" in changes:
            if changes["company"] is not None:
                await self._ensure_company(changes["company"])
            lead.company_id = changes["company"]
        if changes.get("contacts") is not None:
            lead.contacts = await self._contacts(changes["contacts"])
        await self.links.apply(lead, changes)
        await self.session.flush()
        if converting:
            await self._convert(lead)
        return await self._written(lead.id)

    async def delete(self, lead_id: uuid.UUID) -> list[str]:
        """Delete the lead; its comments and attachment rows go with it. Returns the storage
        keys of its files, for the caller to discard once the transaction has committed."""
        lead = await self.get_visible(lead_id)
        ensure_can_delete(lead.created_by_id, self.tenant)
        files = await self.activity.storage_keys("lead", [lead.id])
        await self.leads.delete(lead)
        return files

    async def capture(self, setting: APISetting, acting: Profile, data: SiteLeadCreate) -> Lead:
        """A lead sent by the key's website: assigned to the key's assignees (else the acting
        member) and tagged with its tags; the source defaults to the website."""
        assignees = [p for p in setting.lead_assigned_to if p.is_active and p.user.is_active]
        lead = Lead(
            org_id=self.tenant.org_id,
            created_by_id=acting.id,
            title=data.title or f"{data.first_name} {data.last_name}"[:TITLE_MAX],
            first_name=data.first_name,
            last_name=data.last_name,
            email=data.email,
            phone=data.phone,
            account_name=data.account_name,
            source=data.source or setting.website,
            description=data.message,
            status="assigned",
            created_from_site=True,
            is_active=True,
            assigned_to=assignees or [acting],
            teams=[],
            tags=list(setting.tags),
            contacts=[],
        )
        self.leads.add(lead)
        await self.session.flush()
        return (await self._written(lead.id)).lead

    # -- conversion -----------------------------------------------------------------------

    async def _ensure_convertible(self, email: str | None, account_name: str | None) -> None:
        if not email or not account_name:
            raise ConversionFieldsMissing(
                [
                    name
                    for name, value in (("email", email), ("account_name", account_name))
                    if not value
                ]
            )
        if len(account_name) > ACCOUNT_NAME_MAX:
            raise ValidationFailed.on(
                "account_name",
                f"Ensure this field has no more than {ACCOUNT_NAME_MAX} characters.",
                code="account_name_too_long",
            )
        if await self.leads.account_name_taken(account_name):
            raise ConvertedAccountNameTaken()

    async def _convert(self, lead: Lead) -> None:
        """Create the account, contact and opportunity and mark the lead converted. The
        caller has checked the preconditions; everything here only flushes."""
        email, account_name = lead.email, lead.account_name
        if not email or not account_name:  # the caller checked; never convert without them
            raise ConversionFieldsMissing(["email", "account_name"])
        account = Account(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            name=account_name,
            email=email,
            phone=lead.phone,
            website=lead.website,
            description=lead.description,
            industry=lead.industry,
            status="open",
            lead_id=lead.id,
            **{f"billing_{field}": getattr(lead, field) for field in _ADDRESS},
            **self._copied_links(lead),
        )
        contact = await self.leads.contact_by_email(email)
        if contact is None:
            contact = Contact(
                org_id=self.tenant.org_id,
                created_by_id=self.tenant.profile_id,
                first_name=lead.first_name,
                last_name=lead.last_name,
                primary_email=email,
                mobile_number=lead.phone,
                organization=account_name,
                description=lead.description,
                **{field: getattr(lead, field) for field in _ADDRESS},
                **self._copied_links(lead),
            )
            self.session.add(contact)
        account.contacts = list(dict.fromkeys([contact, *lead.contacts]))
        opportunity = Opportunity(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            name=await self._opportunity_name(lead),
            account=account,
            amount=lead.opportunity_amount,
            probability=lead.probability,
            expected_close_date=lead.close_date,
            lead_source=lead.source,
            description=lead.description,
            stage=OPPORTUNITY_STAGE,
            lead_id=lead.id,
            contacts=[contact],
            **self._copied_links(lead),
        )
        self.session.add_all([account, opportunity])
        await self.session.flush()
        await self.activity.move("lead", lead.id, "account", account.id)
        lead.status = CONVERTED
        lead.converted_account_id = account.id
        lead.converted_contact_id = contact.id
        lead.converted_opportunity_id = opportunity.id
        await self.session.flush()

    @staticmethod
    def _copied_links(lead: Lead) -> dict[str, Any]:
        return {
            "assigned_to": list(lead.assigned_to),
            "teams": list(lead.teams),
            "tags": list(lead.tags),
        }

    async def _opportunity_name(self, lead: Lead) -> str:
        """ "<account> - <first> <last>", cut to fit, with " (n)" added when the org already
        has an opportunity of that name (names are unique per org, case-insensitively)."""
        base = f"{lead.account_name} - {lead.first_name} {lead.last_name}"[:OPPORTUNITY_NAME_MAX]
        candidates = [base] + [
            f"{base[: OPPORTUNITY_NAME_MAX - len(suffix)]}{suffix}"
            for suffix in (f" ({n})" for n in range(2, 21))
        ]
        taken = await self.leads.opportunity_names_taken(candidates)
        for name in candidates:
            if name.lower() not in taken:
                return name
        suffix = f" ({uuid.uuid4().hex[:8]})"
        return f"{base[: OPPORTUNITY_NAME_MAX - len(suffix)]}{suffix}"

    # -- helpers --------------------------------------------------------------------------

    async def _ensure_company(self, company_id: uuid.UUID) -> None:
        if not await self.leads.company_exists(company_id):
            raise ValidationFailed.on(
                "company", "Not a company of this organization", code="unknown_company"
            )

    async def _contacts(self, ids: Sequence[uuid.UUID]) -> list[Contact]:
        wanted = list(dict.fromkeys(ids))
        found = {c.id: c for c in await self.leads.contacts_by_ids(wanted)}
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise ValidationFailed.on(
                "contacts", f"Not contacts of this organization: {', '.join(missing)}"
            )
        return [found[i] for i in wanted]

    async def _written(self, lead_id: uuid.UUID) -> LeadWrite:
        self.session.expire_all()
        lead = await self.leads.get(lead_id)
        if lead is None:
            raise NotFound()
        return await self.conversion_of(lead)


class LeadCaptureService:
    """``create-from-site``: no credentials but a website key (an API setting's ``apikey``)."""

    def __init__(self, session: AsyncSession, limiter: RateLimiter, per_minute: int) -> None:
        self.session = session
        self.limiter = limiter
        self.rule = Rule(per_minute, SITE_CAPTURE_WINDOW_SECONDS)
        self.keys = SiteKeyRepository(session)

    async def create(self, apikey: str | None, data: SiteLeadCreate) -> Lead:
        key = (apikey or data.apikey or "").strip()
        setting = await self.keys.setting_by_key(key) if key else None
        if setting is None:
            raise InvalidSiteKey()
        await self.limiter.hit(f"lead-capture:{setting.id}", self.rule)
        acting = await self.keys.acting_profile(setting.org_id, setting.created_by_id)
        if acting is None:
            raise InvalidSiteKey()
        tenant = TenantContext(
            org_id=setting.org_id,
            profile_id=acting.id,
            user_id=acting.user_id,
            role=acting.role,
        )
        bind_tenant(self.session, tenant)
        return await LeadService(self.session, tenant).capture(setting, acting, data)
