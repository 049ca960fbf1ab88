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
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.activity.schemas import AttachmentRead, CommentRead
from crm.activity.service import ActivityService
from crm.core.clock import today
from crm.core.db import CENTS
from crm.core.errors import NotFound, PermissionDenied
from crm.core.exports import Row
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
    opportunity_export_row,
)
from crm.records.errors import UnknownContacts
from crm.records.repository import LinkIds, Pick, PickerKind
from crm.records.service import LINK_FIELDS, RecordLinks, export_rows

# Lookup lists in list responses feed pickers; they are not exports.

# The ERPNext status of a closed opportunity, and the other way round (§9, docs/erpnext.md).
STATUS_OF_CLOSED_STAGE = {"CLOSED WON": "Converted", "CLOSED LOST": "Lost"}
STAGE_OF_CLOSED_STATUS = {status: stage for stage, status in STATUS_OF_CLOSED_STAGE.items()}
ALL_OPPORTUNITIES = OpportunityFilters()  # no filter: every opportunity the caller sees

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
# Changes that replace related rows: the answer reloads them.
_RELATIONS = frozenset({"account", "contacts", "assigned_to", "teams", "tags"})


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

    async def export(self, filters: OpportunityFilters, max_rows: int) -> AsyncIterator[list[Row]]:
        """Every opportunity the list would show for ``filters``, as export rows."""
        async for rows in export_rows(
            total=await self.opportunities.count(filters),
            max_rows=max_rows,
            fetch=lambda after, size: self.opportunities.export_chunk(filters, after, size),
            links_of=self.opportunities.links_of,
            row=opportunity_export_row,
        ):
            yield rows

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

    async def get_visible(self, opportunity_id: uuid.UUID, *, detail: bool = True) -> Opportunity:
        """The opportunity, if the caller may see it: another org's is 404, a hidden one 403.
        ``detail=False`` leaves out what only the detail view shows (the account's links)."""
        opportunity = await self.opportunities.get(opportunity_id, detail=detail)
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
            amount_is_manual=data.amount is not None,
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
        opportunity = await self.get_visible(opportunity_id, detail=False)
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
        if "amount" in changes:
            self._set_amount(opportunity, changes["amount"])
        if changes.get("probability") is not None:
            opportunity.probability = changes["probability"]
        stage = changes.get("stage")
        if stage is not None and stage != opportunity.stage:
            self._move(opportunity, stage, probability_sent=changes.get("probability") is not None)
        if changes.get("contacts") is not None:
            opportunity.contacts = await self._contacts(changes["contacts"])
        await self.links.apply(opportunity, changes)
        await self.session.flush()
        if changes.keys() & _RELATIONS:
            return await self._reload(opportunity.id)
        # Only columns changed, all set here (``updated_at`` and ``version`` included, by the
        # flush): the loaded opportunity is what a reload would return, 6 statements fewer.
        return opportunity

    # -- the ERPNext-style surface (§9): the same records, other names ----------------

    async def count(self, filters: OpportunityFilters) -> int:
        return await self.opportunities.count(filters)

    async def party_account(self, party: str) -> Account:
        """The account a customer party names: by id, else by name (regardless of case),
        among the accounts the caller can see."""
        try:
            account = await self.opportunities.visible_account(uuid.UUID(party.strip()))
        except ValueError:
            account = await self.opportunities.visible_account_named(party.strip())
        if account is None:
            raise UnknownAccount(
                f"No account named {party!r} that you can see: a Customer party must be "
                "one of the organization's accounts (its name or id)",
                field="party_name",
            )
        return account

    async def free_name(self, wanted: str) -> str:
        """``wanted`` (cut to 64 characters) if no opportunity of the org has it, else the
        first free ``wanted (2)``, ``wanted (3)`` ..."""
        base = wanted.strip()[:64] or "Opportunity"
        candidate, n = base, 1
        while await self.opportunities.name_taken(candidate):
            n += 1
            suffix = f" ({n})"
            candidate = base[: 64 - len(suffix)] + suffix
        return candidate

    async def create_erp(self, values: dict[str, Any]) -> Opportunity:
        """Create from ERPNext-named values already mapped to columns (crm.erp): ``name``
        is checked when sent, else made from the party; ``stage``, ``status`` and
        ``probability`` have the ERPNext defaults (Prospecting, Open, 100)."""
        name = values.pop("name", None)
        if name is not None and await self.opportunities.name_taken(name):
            raise OpportunityNameTaken(field="title")
        if name is None:
            name = await self.free_name(values.get("customer_name") or values["party_name"])
        amount_sent = values.get("amount") is not None
        opportunity = Opportunity(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            name=name,
            amount_is_manual=amount_sent,
            **values,
        )
        if opportunity.stage in CLOSED_STAGES:
            self._close(opportunity)
        self.opportunities.add(opportunity)
        await self.session.flush()
        return await self._reload(opportunity.id)

    async def update_erp(self, opportunity_id: uuid.UUID, changes: dict[str, Any]) -> Opportunity:
        """Apply ERPNext-named changes already mapped to columns: what is sent changes, a
        stage change follows the same rules as on /api/opportunities/."""
        opportunity = await self.get_visible(opportunity_id)
        name = changes.pop("name", None)
        if name is not None:
            if await self.opportunities.name_taken(name, exclude=opportunity.id):
                raise OpportunityNameTaken(field="title")
            opportunity.name = name
        stage = changes.pop("stage", None)
        status = changes.pop("status", None)
        if "amount" in changes:
            self._set_amount(opportunity, changes.pop("amount"))
        for key, value in changes.items():
            setattr(opportunity, key, value)
        if status is not None:
            opportunity.status = status
        if stage is not None and stage != opportunity.stage:
            self._move(
                opportunity,
                stage,
                probability_sent="probability" in changes,
                status_sent=status is not None,
            )
        elif status is not None and stage is None:
            self._follow_status(opportunity, probability_sent="probability" in changes)
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

    def _move(
        self,
        opportunity: Opportunity,
        stage: str,
        *,
        probability_sent: bool,
        status_sent: bool = False,
    ) -> None:
        was_closed = opportunity.stage in CLOSED_STAGES
        opportunity.stage = stage
        if not probability_sent:
            opportunity.probability = STAGE_PROBABILITY[stage]
        if stage in CLOSED_STAGES:
            self._close(opportunity)
        elif was_closed:
            opportunity.actual_close_date = None
            opportunity.closed_by_id = None
        if not status_sent:
            # The ERPNext status follows: won is Converted, lost is Lost, reopened is Open.
            if stage in STATUS_OF_CLOSED_STAGE:
                opportunity.status = STATUS_OF_CLOSED_STAGE[stage]
            elif was_closed and opportunity.status in STAGE_OF_CLOSED_STATUS:
                opportunity.status = "Open"

    @staticmethod
    def _set_amount(opportunity: Opportunity, amount: Decimal | None) -> None:
        """An amount a client sets sticks (item changes leave it); ``null`` makes it follow
        the items' total again, at once when there are items."""
        opportunity.amount_is_manual = amount is not None
        opportunity.amount = opportunity.total if amount is None else amount

    def _follow_status(self, opportunity: Opportunity, *, probability_sent: bool) -> None:
        """A status of Converted or Lost closes the opportunity the same way (won, lost)."""
        stage = STAGE_OF_CLOSED_STATUS.get(opportunity.status)
        if stage is not None and stage != opportunity.stage:
            self._move(opportunity, stage, probability_sent=probability_sent, status_sent=True)

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
        opportunity = await self.opportunities.get(opportunity_id, detail=False)
        if opportunity is None:
            raise NotFound()
        return opportunity
