"""Opportunity use cases and rules (§8, §1.3).

- Names are unique per org, case-insensitively.
- The account is required and must be one the caller can see (an admin: any of the org),
  so the account picker and what a member may write agree, and the detail's
  ``account_obj`` never shows a member an account they could not open. Contacts may be any
  of the org (as on accounts).
- See and change: an admin, the creator or an assignee (another org's record is 404, a
  hidden one 403); delete: an admin or the creator.
- Moving into ``CLOSED WON``/``CLOSED LOST`` stamps ``actual_close_date`` (today, UTC) and
  ``closed_by`` (the caller); moving back to an open stage clears both. A probability not
  sent follows the new stage (see ``STAGE_PROBABILITY``); a probability sent always wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.activity.schemas import AttachmentRead, CommentRead
from crm.activity.service import ActivityService
from crm.core.clock import today
from crm.core.db import CENTS
from crm.core.errors import NotFound, PermissionDenied
from crm.core.pagination import PageParams
from crm.core.permissions import can_see, ensure_can_delete
from crm.core.tenancy import TenantContext
from crm.models import Account, Contact, Opportunity
from crm.opportunities.errors import OpportunityNameTaken, UnknownAccount
from crm.opportunities.repository import OpportunityFilters, OpportunityRepository
from crm.opportunities.schemas import (
    CLOSED_STAGES,
    STAGE_PROBABILITY,
    OpportunityCreate,
    OpportunityUpdate,
)
from crm.records.errors import UnknownContacts
from crm.records.repository import LinkIds, Pick, PickerKind
from crm.records.service import LINK_FIELDS, RecordLinks

# Lookup lists in list responses feed pickers; they are not exports.

# Columns an update sets as sent (stage, probability, account and contacts have rules);
# ``null`` clears the optional ones and leaves the required ones unchanged.
_SCALARS = (
    "name",
    "amount",
    "currency",
    "expected_close_date",
    "lead_source",
    "description",
    "is_active",
)
_REQUIRED = frozenset({"name", "currency", "is_active"})


@dataclass(frozen=True, slots=True)
class Forecast:
    """Totals of one currency over a filtered set (see ``CurrencyForecast``)."""

    currency: str
    count: int
    amount: Decimal
    weighted_amount: Decimal


class OpportunityService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.opportunities = OpportunityRepository(session, tenant)
        self.links = RecordLinks(session, tenant)
        self.activity = ActivityService(session, tenant)

    # -- reads ----------------------------------------------------------------------

    async def page(self, filters: OpportunityFilters, params: PageParams) -> list[Opportunity]:
        return await self.opportunities.page(filters, params)

    async def links_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LinkIds]:
        return await self.opportunities.links_of(ids)

    async def forecast(self, filters: OpportunityFilters) -> list[Forecast]:
        """Per currency, never mixing currencies: Σ amount and Σ amount x probability / 100."""
        return [
            Forecast(
                currency=row.currency,
                count=row.count,
                amount=(Decimal(row.amount_cents) / 100).quantize(CENTS),
                weighted_amount=(Decimal(row.weighted_cent_percents) / 10_000).quantize(
                    CENTS, rounding=ROUND_HALF_UP
                ),
            )
            for row in await self.opportunities.totals_by_currency(filters)
        ]

    async def lookups(self) -> dict[PickerKind, list[Pick]]:
        """The pickers of the list: accounts and contacts the caller can see, active members
        and teams, each capped at ``LOOKUP_LIMIT``."""
        return await self.opportunities.lookups()

    async def get_visible(self, opportunity_id: uuid.UUID) -> Opportunity:
        """The opportunity, if the caller may see it: another org's is 404, a hidden one 403."""
        opportunity = await self.opportunities.get(opportunity_id)
        if opportunity is None:
            raise NotFound()
        if not can_see(
            opportunity.created_by_id, (p.id for p in opportunity.assigned_to), self.tenant
        ):
            raise PermissionDenied()
        return opportunity

    async def activity_of(
        self, opportunity: Opportunity
    ) -> tuple[list[CommentRead], list[AttachmentRead]]:
        """The opportunity's comments and attachments, newest first."""
        return await self.activity.for_parent("opportunity", opportunity.id)

    async def users_mention(self, opportunity: Opportunity) -> list[dict[str, str]]:
        return await self.links.users_mention(opportunity)

    def may_comment(self, opportunity: Opportunity) -> bool:
        """Django-CRM's ``comment_permission``: an admin or the creator."""
        return self.tenant.is_admin or opportunity.created_by_id == self.tenant.profile_id

    # -- writes ---------------------------------------------------------------------

    async def create(self, data: OpportunityCreate) -> Opportunity:
        if await self.opportunities.name_taken(data.name):
            raise OpportunityNameTaken()
        account = await self._account(data.account)
        opportunity = Opportunity(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            name=data.name,
            account_id=account.id,
            stage=data.stage,
            probability=(
                STAGE_PROBABILITY[data.stage] if data.probability is None else data.probability
            ),
            amount=data.amount,
            currency=data.currency,
            expected_close_date=data.expected_close_date,
            lead_source=data.lead_source,
            description=data.description,
            is_active=data.is_active,
            contacts=await self._contacts(data.contacts or []),
            **await self.links.initial(data.model_dump(include=set(LINK_FIELDS))),
        )
        if data.stage in CLOSED_STAGES:
            self._close(opportunity)
        self.opportunities.add(opportunity)
        await self.session.flush()
        return await self._reload(opportunity.id)

    async def update(self, opportunity_id: uuid.UUID, data: OpportunityUpdate) -> Opportunity:
        opportunity = await self.get_visible(opportunity_id)
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        name = changes.get("name")
        if name is not None and await self.opportunities.name_taken(name, exclude=opportunity.id):
            raise OpportunityNameTaken()
        if "account" in changes:
            if changes["account"] is None:
                raise UnknownAccount("An opportunity must belong to an account")
            opportunity.account_id = (await self._account(changes["account"])).id
        for key in _SCALARS:
            if key in changes and (changes[key] is not None or key not in _REQUIRED):
                setattr(opportunity, key, changes[key])
        if changes.get("probability") is not None:
            opportunity.probability = changes["probability"]
        stage = changes.get("stage")
        if stage is not None and stage != opportunity.stage:
            self._move(opportunity, stage, probability_sent=changes.get("probability") is not None)
        if changes.get("contacts") is not None:
            opportunity.contacts = await self._contacts(changes["contacts"])
        await self.links.apply(opportunity, changes)
        await self.session.flush()
        return await self._reload(opportunity.id)

    async def delete(self, opportunity_id: uuid.UUID) -> list[str]:
        """Delete the opportunity; its comments, attachment rows and links go with it. Returns
        the storage keys of its files, for the caller to discard once the deletion is
        committed."""
        opportunity = await self.get_visible(opportunity_id)
        ensure_can_delete(opportunity.created_by_id, self.tenant)
        files = await self.activity.storage_keys("opportunity", [opportunity.id])
        await self.opportunities.delete(opportunity)
        return files

    # -- rules ----------------------------------------------------------------------

    def _move(self, opportunity: Opportunity, stage: str, *, probability_sent: bool) -> None:
        was_closed = opportunity.stage in CLOSED_STAGES
        opportunity.stage = stage
        if not probability_sent:
            opportunity.probability = STAGE_PROBABILITY[stage]
        if stage in CLOSED_STAGES:
            self._close(opportunity)
        elif was_closed:
            opportunity.actual_close_date = None
            opportunity.closed_by_id = None

    def _close(self, opportunity: Opportunity) -> None:
        opportunity.actual_close_date = today()
        opportunity.closed_by_id = self.tenant.profile_id

    async def _account(self, account_id: uuid.UUID) -> Account:
        account = await self.opportunities.visible_account(account_id)
        if account is None:
            raise UnknownAccount()
        return account

    async def _contacts(self, ids: Sequence[uuid.UUID]) -> list[Contact]:
        wanted = list(dict.fromkeys(ids))
        found = {c.id: c for c in await self.opportunities.contacts_by_ids(wanted)}
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise UnknownContacts(missing)
        return [found[i] for i in wanted]

    async def _reload(self, opportunity_id: uuid.UUID) -> Opportunity:
        self.session.expire_all()
        opportunity = await self.opportunities.get(opportunity_id)
        if opportunity is None:
            raise NotFound()
        return opportunity
