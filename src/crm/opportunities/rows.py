"""An opportunity's child rows on the ERPNext-style surface (§9.3, §9.4): items and lost
reasons, each numbered ``idx`` 1..n within the opportunity without gaps after any change.

Rules:
- Rows belong to an opportunity the caller may change (admin, creator or assignee, as for
  the opportunity itself); another org's opportunity or row is 404, a hidden one 403.
- A new row goes to the end, or to ``idx`` when sent (the rows from there move down); a
  changed ``idx`` moves the row; a deleted row closes its gap; a reorder names every row.
- Items: ``amount = qty x rate`` in the currency's minor unit unless sent; ``base_rate`` and
  ``base_amount`` are ``rate`` and ``amount`` times the opportunity's ``conversion_rate``
  (1 when unset). After every item change, in the same transaction, the opportunity's
  ``total`` and ``base_total`` are the sums over its items, and its amount follows
  ``total`` unless a client set the amount itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.db import CENTS
from crm.core.errors import NotFound, ValidationFailed
from crm.core.tenancy import TenantContext
from crm.invoices.totals import to_minor
from crm.models import Opportunity, OpportunityItem, OpportunityLostReason
from crm.opportunities.service import OpportunityService

Row = TypeVar("Row", OpportunityItem, OpportunityLostReason)
ONE = Decimal(1)
FOUR_PLACES = Decimal("0.0001")
_ITEM_FIELDS = (
    "item_code",
    "item_name",
    "item_group",
    "brand",
    "uom",
    "description",
    "image",
    "image_view",
)


class OpportunityRows:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.opportunities = OpportunityService(session, tenant)

    # -- reads --------------------------------------------------------------------------

    async def page(
        self, model: type[Row], parent_id: uuid.UUID, limit: int, offset: int
    ) -> tuple[int, list[Row]]:
        """The rows of a visible opportunity in ``idx`` order: (how many, one page)."""
        await self.opportunities.get_visible(parent_id)
        where = (model.org_id == self.tenant.org_id, model.opportunity_id == parent_id)
        total = int(await self.session.scalar(select(func.count()).where(*where)) or 0)
        statement = select(model).where(*where).order_by(model.idx).limit(limit).offset(offset)
        return total, list((await self.session.execute(statement)).scalars())

    async def get(self, model: type[Row], row_id: uuid.UUID) -> Row:
        row = await self._row(model, row_id)
        await self.opportunities.get_visible(row.opportunity_id)
        return row

    # -- writes -------------------------------------------------------------------------

    async def create(self, model: type[Row], parent_id: uuid.UUID, values: dict[str, Any]) -> Row:
        parent = await self.opportunities.get_visible(parent_id)
        rows = await self._rows(model, parent.id)
        row = model(org_id=self.tenant.org_id, opportunity_id=parent.id, idx=len(rows) + 1)
        _apply(row, values, parent.currency)
        self.session.add(row)
        position = values.get("idx")
        rows.insert(len(rows) if position is None else min(position, len(rows) + 1) - 1, row)
        _number(rows)
        await self._after_change(model, parent)
        return row

    async def update(self, model: type[Row], row_id: uuid.UUID, values: dict[str, Any]) -> Row:
        row = await self._row(model, row_id)
        parent = await self.opportunities.get_visible(row.opportunity_id)
        _apply(row, values, parent.currency)
        if values.get("idx") is not None:
            rows = [r for r in await self._rows(model, parent.id) if r.id != row.id]
            rows.insert(min(values["idx"], len(rows) + 1) - 1, row)
            _number(rows)
        await self._after_change(model, parent)
        return row

    async def delete(self, model: type[Row], row_id: uuid.UUID) -> None:
        row = await self._row(model, row_id)
        parent = await self.opportunities.get_visible(row.opportunity_id)
        await self.session.delete(row)
        await self.session.flush()
        _number(await self._rows(model, parent.id))
        await self._after_change(model, parent)

    async def reorder(
        self, model: type[Row], parent_id: uuid.UUID, order: Sequence[uuid.UUID | None]
    ) -> list[Row]:
        """Number the rows in ``order``, which must name each of the opportunity's rows
        exactly once."""
        parent = await self.opportunities.get_visible(parent_id)
        rows = {r.id: r for r in await self._rows(model, parent.id)}
        if None in order or len(set(order)) != len(order) or set(order) != set(rows):
            raise ValidationFailed.on(
                "ids", "ids must list every row of the opportunity exactly once", code="invalid"
            )
        ordered = [rows[i] for i in order if i is not None]
        _number(ordered)
        await self.session.flush()
        return ordered

    # -- the parent's totals -------------------------------------------------------------

    async def _after_change(self, model: type[Any], parent: Opportunity) -> None:
        await self.session.flush()
        if model is OpportunityItem:
            await settle_items(self.session, parent)
            await self.session.flush()

    async def _row(self, model: type[Row], row_id: uuid.UUID) -> Row:
        row = await self.session.scalar(
            select(model).where(model.org_id == self.tenant.org_id, model.id == row_id)
        )
        if row is None:
            raise NotFound()
        found: Row = row
        return found

    async def _rows(self, model: type[Row], parent_id: uuid.UUID) -> list[Row]:
        statement = (
            select(model)
            .where(model.org_id == self.tenant.org_id, model.opportunity_id == parent_id)
            .order_by(model.idx, model.created_on, model.id)
        )
        return list((await self.session.execute(statement)).scalars())


def _number(rows: Sequence[OpportunityItem | OpportunityLostReason]) -> None:
    for position, row in enumerate(rows, start=1):
        if row.idx != position:
            row.idx = position


def _apply(
    row: OpportunityItem | OpportunityLostReason, values: dict[str, Any], currency: str
) -> None:
    if isinstance(row, OpportunityLostReason):
        if values.get("lost_reason") is not None:
            row.lost_reason = values["lost_reason"]
        return
    for key in _ITEM_FIELDS:
        if key in values:
            setattr(row, key, values[key])
    for key in ("qty", "rate"):
        if values.get(key) is not None:
            setattr(row, key, values[key])
    row.qty = ONE if row.qty is None else row.qty
    row.rate = Decimal(0) if row.rate is None else row.rate
    if values.get("amount") is not None:
        row.amount = to_minor(values["amount"], currency)
    elif row.amount is None or "qty" in values or "rate" in values:
        row.amount = to_minor(row.qty * row.rate, currency)


async def settle_items(
    session: AsyncSession, parent: Opportunity, *, recompute: bool = False
) -> None:
    """The items' base values at the parent's rate, and the parent's totals. ``recompute``
    (after a currency change): every item's amount is ``qty x rate`` in the new currency
    again, so amounts never drift through repeated rounding."""
    statement = select(OpportunityItem).where(
        OpportunityItem.org_id == parent.org_id, OpportunityItem.opportunity_id == parent.id
    )
    items = list((await session.execute(statement)).scalars())
    if not items and parent.total is None:
        return  # never had items: its amount is its own
    rate = parent.conversion_rate or ONE
    for item in items:
        if recompute:
            item.amount = to_minor(item.qty * item.rate, parent.currency)
        item.base_rate = (item.rate * rate).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
        item.base_amount = (item.amount * rate).quantize(CENTS, rounding=ROUND_HALF_UP)
    parent.total = sum((i.amount for i in items), Decimal(0))
    parent.base_total = sum((i.base_amount for i in items), Decimal(0))
    if not parent.amount_is_manual:
        parent.amount = parent.total
