"""Tests of the ERPNext-style surface /api/crm/ (§9): opportunities, their items and lost
reasons. The helpers below are shared by the modules of this package."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.conftest import Member

BASE = "/api/crm"
OPPORTUNITIES = f"{BASE}/opportunity"
ITEMS = f"{BASE}/opportunity-item"
LOST_REASONS = f"{BASE}/opportunity-lost-reason-detail"

# The keys of the Opportunity object in seed 004, in the seed's order.
OPPORTUNITY_KEYS: tuple[str, ...] = (
    "id",
    "created_at",
    "updated_at",
    "opportunity_from",
    "party_name",
    "customer_name",
    "title",
    "opportunity_type",
    "status",
    "order_lost_reason",
    "expected_closing",
    "currency",
    "opportunity_amount",
    "sales_stage",
    "probability",
    "customer_address",
    "address_display",
    "territory",
    "customer_group",
    "contact_person",
    "contact_display",
    "contact_email",
    "contact_mobile",
    "company",
    "transaction_date",
    "first_response_time",
    "language",
    "base_opportunity_amount",
    "base_total",
    "total",
    "conversion_rate",
    "no_of_employees",
    "annual_revenue",
    "industry",
    "market_segment",
    "opportunity_owner",
    "website",
    "whatsapp",
    "phone",
    "phone_ext",
    "job_title",
    "city",
    "state",
    "country",
    "utm_source",
    "utm_campaign",
    "utm_medium",
    "utm_content",
)
# The seed's child objects, plus what every child also carries here.
CHILD_EXTRA_KEYS = frozenset({"parent_id", "created_at", "updated_at"})
ITEM_SEED_KEYS = frozenset(
    {
        "id",
        "idx",
        "opportunity_id",
        "item_code",
        "qty",
        "item_group",
        "brand",
        "uom",
        "item_name",
        "description",
        "image",
        "image_view",
        "rate",
        "base_amount",
        "amount",
        "base_rate",
    }
)
LOST_REASON_SEED_KEYS = frozenset({"id", "idx", "opportunity_id", "lost_reason"})
ITEM_KEYS = ITEM_SEED_KEYS | CHILD_EXTRA_KEYS
LOST_REASON_KEYS = LOST_REASON_SEED_KEYS | CHILD_EXTRA_KEYS
LIST_KEYS = frozenset({"data", "has_more", "total"})
ERROR_KEYS = frozenset({"type", "code", "message", "param"})

_PUBLIC_ID = {
    "opportunity": re.compile(r"opportunity_[0-9a-f]{32}"),
    "opportunity-item": re.compile(r"opportunity-item_[0-9a-f]{32}"),
    "opportunity-lost-reason-detail": re.compile(r"opportunity-lost-reason-detail_[0-9a-f]{32}"),
}


def is_public_id(kind: str, value: Any) -> bool:
    return isinstance(value, str) and _PUBLIC_ID[kind].fullmatch(value) is not None


def plain_uuid(public: str) -> str:
    """The UUID (canonical text) behind a public id ``<kind>_<32 hex>``."""
    return str(uuid.UUID(public.rsplit("_", 1)[1]))


def public(kind: str, value: str | uuid.UUID) -> str:
    return f"{kind}_{uuid.UUID(str(value)).hex}"


def assert_error(
    response: httpx.Response,
    status: int,
    kind: str,
    *,
    code: str | None = None,
    param: str | None = None,
    param_given: bool = False,
) -> dict[str, Any]:
    """The /api/crm/ error shape: ``{"error": {"type", "code", "message", "param"}}``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == ERROR_KEYS, error
    assert error["type"] == kind, error
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    if param is not None or param_given:
        assert error["param"] == param, error
    return dict(error)


def assert_not_found(response: httpx.Response) -> None:
    assert_error(response, 404, "invalid_request_error", code="resource_missing", param=None)


def assert_invalid(
    response: httpx.Response, param: str | None, code: str | None = None
) -> dict[str, Any]:
    return assert_error(
        response, 400, "invalid_request_error", code=code, param=param, param_given=True
    )


def assert_denied(response: httpx.Response) -> None:
    assert_error(response, 403, "permission_error")


async def create_opportunity(
    client: httpx.AsyncClient, member: Member, **fields: Any
) -> dict[str, Any]:
    """An opportunity of ``member``'s org (a Lead party unless told otherwise)."""
    body: dict[str, Any] = {
        "opportunity_from": "Lead",
        "party_name": f"Party {uuid.uuid4().hex[:8]}",
        "company": "Example Corp",
        "transaction_date": "2024-01-15",
        **fields,
    }
    response = await client.post(OPPORTUNITIES, json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def get_opportunity(
    client: httpx.AsyncClient, member: Member, opportunity_id: str
) -> dict[str, Any]:
    response = await client.get(f"{OPPORTUNITIES}/{opportunity_id}", headers=member.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def create_item(
    client: httpx.AsyncClient, member: Member, opportunity_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"opportunity_id": opportunity_id, **fields}
    response = await client.post(ITEMS, json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_lost_reason(
    client: httpx.AsyncClient, member: Member, opportunity_id: str, reason: str
) -> dict[str, Any]:
    body = {"opportunity_id": opportunity_id, "lost_reason": reason}
    response = await client.post(LOST_REASONS, json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def children(
    client: httpx.AsyncClient, member: Member, base: str, opportunity_id: str
) -> list[dict[str, Any]]:
    """Every child row of the opportunity, in list order."""
    response = await client.get(
        base, params={"parent_id": opportunity_id, "limit": 100}, headers=member.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == LIST_KEYS
    assert body["total"] == len(body["data"])
    assert body["has_more"] is False
    return list(body["data"])
