"""The /api/crm/ surface over the one opportunity service: ERPNext names in, the same
records and rules (crm.opportunities) underneath, ERPNext names out.

Mapping (docs/erpnext.md): ``title`` is the name (unique per org; made from the party
when not sent), ``opportunity_amount`` the amount, ``sales_stage`` the stage,
``expected_closing`` the expected close date; a ``Customer`` party is an account (by name
or id); everything else is stored as sent.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import PageParams, Window
from crm.core.tenancy import TenantContext
from crm.erp import ids
from crm.erp.schemas import (
    DEFAULT_PROBABILITY,
    DEFAULT_STAGE,
    DEFAULT_STATUS,
    ERP_STAGES,
    PASSTHROUGH,
    OpportunityCreateIn,
    OpportunityPatchIn,
)
from crm.models import Opportunity, OpportunityItem, OpportunityLostReason
from crm.opportunities.rows import OpportunityRows, settle_items
from crm.opportunities.schemas import DEFAULT_CURRENCY
from crm.opportunities.service import (
    ALL_OPPORTUNITIES,
    STAGE_OF_CLOSED_STATUS,
    STATUS_OF_CLOSED_STAGE,
    OpportunityService,
)

# ERPNext name -> column, for the fields whose names differ.
_RENAMED = {
    "title": "name",
    "opportunity_amount": "amount",
    "sales_stage": "stage",
    "expected_closing": "expected_close_date",
}
_REQUIRED = ("opportunity_from", "party_name", "company", "transaction_date")


def parse(kind: str, text: str, param: str | None = None) -> uuid.UUID:
    """A public or plain id; 404 (as for a missing record) when it names nothing of
    ``kind``, or 400 on ``param`` when it came in a body or query."""
    found = ids.parse_id(kind, text)
    if found is None:
        if param is not None:
            raise ValidationFailed.on(param, f"Not a {kind} id: {text!r}", code="invalid_id")
        raise NotFound()
    return found


class ErpOpportunities:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.opportunities = OpportunityService(session, tenant)
        self.rows = OpportunityRows(session, tenant)

    async def page(self, params: PageParams) -> tuple[int, Window[Opportunity]]:
        total = await self.opportunities.count(ALL_OPPORTUNITIES)
        found = (
            await self.opportunities.page(ALL_OPPORTUNITIES, params) if params.shows(total) else []
        )
        return total, params.window(found)

    async def get(self, public: str) -> Opportunity:
        return await self.opportunities.get_visible(parse(ids.OPPORTUNITY, public))

    async def create(self, data: OpportunityCreateIn) -> Opportunity:
        values = await self._columns(data.model_dump(exclude_unset=True))
        # Status and stage agree from the start, as a later change keeps them (§9).
        if values.get("status") is None:
            values["status"] = STATUS_OF_CLOSED_STAGE.get(values.get("stage") or "", DEFAULT_STATUS)
        elif values.get("stage") is None and values["status"] in STAGE_OF_CLOSED_STATUS:
            values["stage"] = STAGE_OF_CLOSED_STATUS[values["status"]]
        defaults = {"stage": ERP_STAGES[DEFAULT_STAGE], "probability": DEFAULT_PROBABILITY}
        for key, default in defaults.items():
            if values.get(key) is None:  # not sent, or sent as null
                values[key] = default
        if values.get("currency") is None:
            values["currency"] = DEFAULT_CURRENCY
        return await self.opportunities.create_erp(values)

    async def update(self, public: str, data: OpportunityPatchIn) -> Opportunity:
        sent = data.model_dump(exclude_unset=True)
        for key in (*_REQUIRED, "title", "sales_stage", "status", "currency", "probability"):
            if key in sent and sent[key] is None:
                raise ValidationFailed.on(key, f"{key} cannot be null", code="required")
        opportunity_id = parse(ids.OPPORTUNITY, public)
        if "party_name" in sent or "opportunity_from" in sent:
            # The party is resolved as a pair: the one not sent is the current one.
            current = await self.opportunities.get_visible(opportunity_id)
            sent.setdefault("opportunity_from", current.opportunity_from or "Customer")
            sent.setdefault(
                "party_name",
                current.account.name if current.account else current.party_name,
            )
        changes = await self._columns(sent)
        updated = await self.opportunities.update_erp(opportunity_id, changes)
        if {"conversion_rate", "currency"} & set(changes):
            # The items' amounts (qty x rate in the new currency) and base values follow.
            await settle_items(self.rows.session, updated, recompute="currency" in changes)
            await self.rows.session.flush()
        return updated

    async def delete(self, public: str) -> uuid.UUID:
        opportunity_id = parse(ids.OPPORTUNITY, public)
        await self.opportunities.delete(opportunity_id)
        return opportunity_id

    async def _columns(self, sent: dict[str, Any]) -> dict[str, Any]:
        """ERPNext names to columns; a Customer party to its account."""
        values: dict[str, Any] = {}
        for key, value in sent.items():
            if key in PASSTHROUGH or key in ("opportunity_from", "party_name", "customer_name"):
                values[key] = value
            elif key in _RENAMED:
                values[_RENAMED[key]] = value
            elif key in ("status", "currency", "probability"):
                values[key] = value
        if "contact_email" in values and values["contact_email"] is not None:
            values["contact_email"] = str(values["contact_email"])
        if "opportunity_from" in values:
            if values["opportunity_from"] == "Customer":
                account = await self.opportunities.party_account(values["party_name"])
                values["account_id"] = account.id
                values["party_name"] = account.name
            else:
                values["account_id"] = None
        return values

    # -- child rows -----------------------------------------------------------------------

    async def rows_page(
        self, model: type[Any], parent: str, params: PageParams
    ) -> tuple[int, list[Any]]:
        parent_id = parse(ids.OPPORTUNITY, parent, "parent_id")
        return await self.rows.page(model, parent_id, params.limit, params.offset)

    async def row(self, model: type[Any], kind: str, public: str) -> Any:
        return await self.rows.get(model, parse(kind, public))

    async def create_row(self, model: type[Any], values: dict[str, Any]) -> Any:
        parent_id = parse(ids.OPPORTUNITY, values.pop("opportunity_id"), "opportunity_id")
        return await self.rows.create(model, parent_id, values)

    async def update_row(
        self, model: type[Any], kind: str, public: str, values: dict[str, Any]
    ) -> Any:
        return await self.rows.update(model, parse(kind, public), values)

    async def delete_row(self, model: type[Any], kind: str, public: str) -> uuid.UUID:
        row_id = parse(kind, public)
        await self.rows.delete(model, row_id)
        return row_id

    async def reorder(
        self, model: type[Any], kind: str, parent: str, order: list[str]
    ) -> list[Any]:
        parent_id = parse(ids.OPPORTUNITY, parent, "parent_id")
        return await self.rows.reorder(model, parent_id, [ids.parse_id(kind, i) for i in order])


ROW_MODELS = {ids.ITEM: OpportunityItem, ids.LOST_REASON: OpportunityLostReason}
