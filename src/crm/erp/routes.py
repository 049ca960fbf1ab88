"""/api/crm/ (§9): ERPNext's Opportunity with its items and lost reasons, Stripe-style.

- Lists: ``{"data", "has_more", "total"}``, newest first (children by ``idx``), ``limit``
  20 by default (at most 100) and ``offset``; ``has_more`` is exact. The opportunity list
  also pages by ``cursor`` (empty to start), adding ``next_cursor`` to the envelope.
- Create answers 201 with the object; PATCH changes only what is sent; DELETE answers
  ``{"id", "deleted": true}`` (an opportunity takes its children with it).
- Ids are ``opportunity_<hex>``, ``opportunity-item_<hex>``,
  ``opportunity-lost-reason-detail_<hex>``; paths and bodies also take the plain UUID.
- Every error is ``{"error": {"type", "code", "message", "param"}}`` (crm.core.errors).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status

from crm.core.pagination import CursorQuery, PageParams, cursor_page_params
from crm.erp import ids
from crm.erp.permissions import Erp
from crm.erp.schemas import (
    CursorListOut,
    Deleted,
    ItemCreateIn,
    ItemFields,
    ItemOut,
    ListOut,
    LostReasonCreateIn,
    LostReasonFields,
    LostReasonOut,
    OpportunityCreateIn,
    OpportunityOut,
    OpportunityPatchIn,
    ReorderIn,
)
from crm.models import OpportunityItem, OpportunityLostReason
from crm.records.caching import CachedList

router = APIRouter(prefix="/api/crm", tags=["crm (ERPNext-style)"])

MAX_LIMIT = 100
Limit = Annotated[int, Query(ge=1, description="Default 20; more than 100 counts as 100")]
Offset = Annotated[int, Query(ge=0, description="Objects to skip")]
ParentId = Annotated[str, Query(min_length=1, description="The opportunity's id")]

CREATE_EXAMPLE = {
    "opportunity_from": "Customer",
    "party_name": "Northwind Traders",
    "company": "Example Corp",
    "transaction_date": "2026-11-21",
    "title": "Northwind - POS rollout",
    "sales_stage": "Needs Analysis",
    "opportunity_amount": 12500,
    "currency": "USD",
}


def _listed(data: list[Any], total: int, offset: int) -> dict[str, Any]:
    return {"data": data, "has_more": offset + len(data) < total, "total": total}


# -- opportunities --------------------------------------------------------------------------


@router.get(
    "/opportunity",
    response_model=CursorListOut[OpportunityOut],
    # ``next_cursor`` is in the envelope only in cursor mode; every other key is always set.
    response_model_exclude_unset=True,
)
async def list_opportunities(
    cache: CachedList,
    erp: Erp,
    request: Request,
    limit: Limit = 20,
    offset: Offset = 0,
    cursor: CursorQuery = None,
) -> Response:
    """The opportunities the caller may see, newest first: by ``offset``, or by ``cursor``
    (empty for the first page, then the last page's ``next_cursor``; not with ``offset``)."""
    params = cursor_page_params(request, min(limit, MAX_LIMIT), offset, cursor)
    if (hit := cache.hit()) is not None:
        return hit
    total, rows = await erp.page(params)
    data = [OpportunityOut.of(o) for o in rows.rows]
    if params.cursor is None:
        listed = CursorListOut[OpportunityOut](**_listed(data, total, offset))
    else:
        next_cursor = params.next_cursor(rows.more)
        listed = CursorListOut[OpportunityOut](
            data=data, has_more=next_cursor is not None, total=total, next_cursor=next_cursor
        )
    return cache.keep(listed, exclude_unset=True)


@router.post("/opportunity", status_code=status.HTTP_201_CREATED, response_model=OpportunityOut)
async def create_opportunity(
    erp: Erp, body: Annotated[OpportunityCreateIn, Body(examples=[CREATE_EXAMPLE])]
) -> OpportunityOut:
    """Create: ``opportunity_from`` (Lead, Customer or Prospect), ``party_name``,
    ``company`` and ``transaction_date`` are required. A Customer party is an account of
    the org (its name or id). Defaults: status Open, sales_stage Prospecting, probability
    100, currency USD; ``title`` defaults to the customer or party name (made unique)."""
    return OpportunityOut.of(await erp.create(body))


@router.get("/opportunity/{opportunity_id}", response_model=OpportunityOut)
async def retrieve_opportunity(opportunity_id: str, erp: Erp) -> OpportunityOut:
    return OpportunityOut.of(await erp.get(opportunity_id))


@router.patch("/opportunity/{opportunity_id}", response_model=OpportunityOut)
async def update_opportunity(
    opportunity_id: str,
    erp: Erp,
    body: Annotated[OpportunityPatchIn, Body(examples=[{"sales_stage": "Proposal/Price Quote"}])],
) -> OpportunityOut:
    """Partial update: keys not sent stay unchanged; ``null`` clears an optional field."""
    return OpportunityOut.of(await erp.update(opportunity_id, body))


@router.delete("/opportunity/{opportunity_id}", response_model=Deleted)
async def delete_opportunity(opportunity_id: str, erp: Erp) -> Deleted:
    """Delete for good, with its items, lost reasons, comments and attachments."""
    deleted = await erp.delete(opportunity_id)
    return Deleted(id=ids.public_id(ids.OPPORTUNITY, deleted))


# -- opportunity items ----------------------------------------------------------------------


@router.get("/opportunity-item", response_model=ListOut[ItemOut])
async def list_items(erp: Erp, parent_id: ParentId, limit: Limit = 20, offset: Offset = 0) -> Any:
    """The items of one opportunity, by ``idx``."""
    total, rows = await erp.rows_page(
        OpportunityItem, parent_id, PageParams(min(limit, MAX_LIMIT), offset)
    )
    return _listed([ItemOut.of(r) for r in rows], total, offset)


@router.post("/opportunity-item/reorder", response_model=ListOut[ItemOut])
async def reorder_items(erp: Erp, body: ReorderIn) -> Any:
    """Number the items 1..n in the order of ``ids``, which lists each item once."""
    rows = await erp.reorder(OpportunityItem, ids.ITEM, body.parent_id, body.ids)
    return _listed([ItemOut.of(r) for r in rows], len(rows), 0)


@router.post("/opportunity-item", status_code=status.HTTP_201_CREATED, response_model=ItemOut)
async def create_item(
    erp: Erp,
    body: Annotated[
        ItemCreateIn,
        Body(
            examples=[
                {"opportunity_id": "opportunity_...", "item_code": "POS-1", "qty": 3, "rate": 450}
            ]
        ),
    ],
) -> ItemOut:
    """Add an item (at the end, or at ``idx``); ``amount`` is ``qty x rate`` unless sent.
    The opportunity's totals follow at once."""
    values = body.model_dump(exclude_unset=True)
    values["opportunity_id"] = body.opportunity_id
    return ItemOut.of(await erp.create_row(OpportunityItem, values))


@router.get("/opportunity-item/{item_id}", response_model=ItemOut)
async def retrieve_item(item_id: str, erp: Erp) -> ItemOut:
    return ItemOut.of(await erp.row(OpportunityItem, ids.ITEM, item_id))


@router.patch("/opportunity-item/{item_id}", response_model=ItemOut)
async def update_item(item_id: str, erp: Erp, body: ItemFields) -> ItemOut:
    """Partial update; a new ``idx`` moves the item; ``amount`` follows ``qty``/``rate``
    when those change and it is not sent."""
    values = body.model_dump(exclude_unset=True)
    return ItemOut.of(await erp.update_row(OpportunityItem, ids.ITEM, item_id, values))


@router.delete("/opportunity-item/{item_id}", response_model=Deleted)
async def delete_item(item_id: str, erp: Erp) -> Deleted:
    deleted = await erp.delete_row(OpportunityItem, ids.ITEM, item_id)
    return Deleted(id=ids.public_id(ids.ITEM, deleted))


# -- lost reasons ---------------------------------------------------------------------------


@router.get("/opportunity-lost-reason-detail", response_model=ListOut[LostReasonOut])
async def list_lost_reasons(
    erp: Erp, parent_id: ParentId, limit: Limit = 20, offset: Offset = 0
) -> Any:
    total, rows = await erp.rows_page(
        OpportunityLostReason, parent_id, PageParams(min(limit, MAX_LIMIT), offset)
    )
    return _listed([LostReasonOut.of(r) for r in rows], total, offset)


@router.post("/opportunity-lost-reason-detail/reorder", response_model=ListOut[LostReasonOut])
async def reorder_lost_reasons(erp: Erp, body: ReorderIn) -> Any:
    rows = await erp.reorder(OpportunityLostReason, ids.LOST_REASON, body.parent_id, body.ids)
    return _listed([LostReasonOut.of(r) for r in rows], len(rows), 0)


@router.post(
    "/opportunity-lost-reason-detail",
    status_code=status.HTTP_201_CREATED,
    response_model=LostReasonOut,
)
async def create_lost_reason(
    erp: Erp,
    body: Annotated[
        LostReasonCreateIn,
        Body(examples=[{"opportunity_id": "opportunity_...", "lost_reason": "Price"}]),
    ],
) -> LostReasonOut:
    values = body.model_dump(exclude_unset=True)
    values["opportunity_id"] = body.opportunity_id
    return LostReasonOut.of(await erp.create_row(OpportunityLostReason, values))


@router.get("/opportunity-lost-reason-detail/{row_id}", response_model=LostReasonOut)
async def retrieve_lost_reason(row_id: str, erp: Erp) -> LostReasonOut:
    return LostReasonOut.of(await erp.row(OpportunityLostReason, ids.LOST_REASON, row_id))


@router.patch("/opportunity-lost-reason-detail/{row_id}", response_model=LostReasonOut)
async def update_lost_reason(row_id: str, erp: Erp, body: LostReasonFields) -> LostReasonOut:
    values = body.model_dump(exclude_unset=True)
    row = await erp.update_row(OpportunityLostReason, ids.LOST_REASON, row_id, values)
    return LostReasonOut.of(row)


@router.delete("/opportunity-lost-reason-detail/{row_id}", response_model=Deleted)
async def delete_lost_reason(row_id: str, erp: Erp) -> Deleted:
    deleted = await erp.delete_row(OpportunityLostReason, ids.LOST_REASON, row_id)
    return Deleted(id=ids.public_id(ids.LOST_REASON, deleted))
