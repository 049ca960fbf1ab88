"""/api/crm/opportunity-item and /api/crm/opportunity-lost-reason-detail (§9.3, §9.4): create,
retrieve, update, delete and reorder, ``idx`` 1..n after every change, item amounts and
base values, the parent's totals and its amount, and isolation."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from crm.core.db import Database
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.erp import (
    ITEM_KEYS,
    ITEMS,
    LOST_REASON_KEYS,
    LOST_REASONS,
    OPPORTUNITIES,
    assert_denied,
    assert_invalid,
    assert_not_found,
    children,
    create_item,
    create_lost_reason,
    create_opportunity,
    get_opportunity,
    is_public_id,
    plain_uuid,
    public,
)
from tests.opportunities.rows import insert_account


@pytest.fixture
async def admin(factory: Factory) -> Member:
    return await factory.admin()


@pytest.fixture
async def opportunity(client: httpx.AsyncClient, admin: Member) -> dict[str, Any]:
    return await create_opportunity(client, admin)


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


async def _items(client: httpx.AsyncClient, member: Member, oid: str) -> list[dict[str, Any]]:
    return await children(client, member, ITEMS, oid)


async def _order(client: httpx.AsyncClient, member: Member, base: str, oid: str) -> list[str]:
    """Row ids in list order, after checking ``idx`` runs 1..n in that order."""
    rows = await children(client, member, base, oid)
    assert [r["idx"] for r in rows] == list(range(1, len(rows) + 1)), rows
    return [r["id"] for r in rows]


async def _patch(
    client: httpx.AsyncClient, member: Member, url: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.patch(url, json=body, headers=member.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _assert_totals(client: httpx.AsyncClient, member: Member, oid: str) -> dict[str, Any]:
    """The parent's totals are the sums over its items; returns the parent."""
    items = await _items(client, member, oid)
    parent = await get_opportunity(client, member, oid)
    assert _d(parent["total"]) == sum((_d(i["amount"]) for i in items), Decimal(0))
    assert _d(parent["base_total"]) == sum((_d(i["base_amount"]) for i in items), Decimal(0))
    return parent


# -- items: the object -----------------------------------------------------------------------


async def test_item_defaults_and_keys(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    item = await create_item(client, admin, opportunity["id"])
    assert set(item) == ITEM_KEYS
    assert is_public_id("opportunity-item", item["id"])
    assert item["opportunity_id"] == opportunity["id"]
    assert item["parent_id"] == opportunity["id"]
    assert item["idx"] == 1
    assert (item["qty"], item["rate"], item["amount"]) == (1, 0, 0)
    assert (item["base_rate"], item["base_amount"]) == (0, 0)
    for key in ("item_code", "item_name", "item_group", "brand", "uom", "description", "image"):
        assert item[key] is None
    got = await client.get(f"{ITEMS}/{item['id']}", headers=admin.headers)
    assert got.status_code == 200
    assert got.json() == item
    by_uuid = await client.get(f"{ITEMS}/{plain_uuid(item['id'])}", headers=admin.headers)
    assert by_uuid.json() == item
    parent = await get_opportunity(client, admin, opportunity["id"])
    assert (parent["total"], parent["base_total"], parent["opportunity_amount"]) == (0, 0, 0)


async def test_item_fields_are_stored(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    fields = {
        "item_code": "POS-1",
        "item_name": "POS terminal",
        "item_group": "Hardware",
        "brand": "Acme",
        "uom": "Nos",
        "description": "A terminal",
        "image": "https://img.example.com/pos.png",
        "image_view": "https://img.example.com/pos-view.png",
    }
    item = await create_item(client, admin, opportunity["id"], qty=3, rate=450, **fields)
    for key, value in fields.items():
        assert item[key] == value
    assert (item["qty"], item["rate"], item["amount"]) == (3, 450, 1350)
    changed = await _patch(client, admin, f"{ITEMS}/{item['id']}", {"brand": "Other", "uom": None})
    assert (changed["brand"], changed["uom"], changed["item_code"]) == ("Other", None, "POS-1")
    assert changed["amount"] == 1350


@pytest.mark.parametrize("key", ["opportunity_id", "parent_id"])
@pytest.mark.parametrize("form", ["public", "uuid"])
async def test_item_parent_by_either_key_and_id_form(
    key: str,
    form: str,
    client: httpx.AsyncClient,
    admin: Member,
    opportunity: dict[str, Any],
) -> None:
    parent = opportunity["id"] if form == "public" else plain_uuid(opportunity["id"])
    response = await client.post(ITEMS, json={key: parent, "qty": 2}, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert response.json()["opportunity_id"] == opportunity["id"]
    listed = await client.get(ITEMS, params={"parent_id": parent}, headers=admin.headers)
    assert listed.json()["total"] == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("qty", -1),
        ("qty", "many"),
        ("qty", "1.00001"),
        ("rate", -0.01),
        ("rate", "abc"),
        ("amount", -1),
        ("idx", 0),
        ("idx", "first"),
        ("uom", "u" * 41),
    ],
)
async def test_item_bad_values_are_400(
    field: str,
    value: Any,
    client: httpx.AsyncClient,
    admin: Member,
    opportunity: dict[str, Any],
    test_database: Database,
) -> None:
    item = await create_item(client, admin, opportunity["id"])
    before = await checksum(test_database)
    response = await client.post(
        ITEMS, json={"opportunity_id": opportunity["id"], field: value}, headers=admin.headers
    )
    assert_invalid(response, field)
    response = await client.patch(
        f"{ITEMS}/{item['id']}", json={field: value}, headers=admin.headers
    )
    assert_invalid(response, field)
    assert await checksum(test_database) == before


async def test_item_create_needs_a_known_parent(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    assert_invalid(
        await client.post(ITEMS, json={"qty": 1}, headers=admin.headers), "opportunity_id"
    )
    for bad in ("nope", f"opportunity-item_{uuid.uuid4().hex}", ""):
        response = await client.post(ITEMS, json={"opportunity_id": bad}, headers=admin.headers)
        assert_invalid(response, "opportunity_id")
    for missing in (f"opportunity_{uuid.uuid4().hex}", str(uuid.uuid4())):
        response = await client.post(ITEMS, json={"opportunity_id": missing}, headers=admin.headers)
        assert_not_found(response)
    assert await checksum(test_database) == before


# -- items: idx ------------------------------------------------------------------------------


async def test_idx_stays_one_to_n_through_every_change(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    oid = opportunity["id"]
    a, b, c = [(await create_item(client, admin, oid, item_code=n))["id"] for n in "ABC"]
    assert await _order(client, admin, ITEMS, oid) == [a, b, c]
    # Insert at a position.
    d = await create_item(client, admin, oid, item_code="D", idx=2)
    assert d["idx"] == 2
    assert await _order(client, admin, ITEMS, oid) == [a, d["id"], b, c]
    e = await create_item(client, admin, oid, item_code="E", idx=1)
    assert await _order(client, admin, ITEMS, oid) == [e["id"], a, d["id"], b, c]
    # Past the end: appended.
    f = await create_item(client, admin, oid, item_code="F", idx=99)
    assert f["idx"] == 6
    order = await _order(client, admin, ITEMS, oid)
    assert order == [e["id"], a, d["id"], b, c, f["id"]]
    # Move with PATCH idx.
    moved = await _patch(client, admin, f"{ITEMS}/{c}", {"idx": 1})
    assert moved["idx"] == 1
    assert await _order(client, admin, ITEMS, oid) == [c, e["id"], a, d["id"], b, f["id"]]
    await _patch(client, admin, f"{ITEMS}/{c}", {"idx": 50})
    assert await _order(client, admin, ITEMS, oid) == [e["id"], a, d["id"], b, f["id"], c]
    await _patch(client, admin, f"{ITEMS}/{e['id']}", {"idx": 3})
    assert await _order(client, admin, ITEMS, oid) == [a, d["id"], e["id"], b, f["id"], c]
    # Same position, or idx null: no move.
    await _patch(client, admin, f"{ITEMS}/{b}", {"idx": 4})
    await _patch(client, admin, f"{ITEMS}/{b}", {"idx": None, "item_code": "B2"})
    assert await _order(client, admin, ITEMS, oid) == [a, d["id"], e["id"], b, f["id"], c]
    # Delete closes the gap.
    deleted = await client.delete(f"{ITEMS}/{d['id']}", headers=admin.headers)
    assert deleted.json() == {"id": d["id"], "deleted": True}
    assert await _order(client, admin, ITEMS, oid) == [a, e["id"], b, f["id"], c]
    await client.delete(f"{ITEMS}/{a}", headers=admin.headers)
    await client.delete(f"{ITEMS}/{c}", headers=admin.headers)
    assert await _order(client, admin, ITEMS, oid) == [e["id"], b, f["id"]]
    # Each item reads back its idx.
    for n, item_id in enumerate(await _order(client, admin, ITEMS, oid), start=1):
        got = await client.get(f"{ITEMS}/{item_id}", headers=admin.headers)
        assert got.json()["idx"] == n


async def test_reorder_numbers_in_the_given_order(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    oid = opportunity["id"]
    ids = [(await create_item(client, admin, oid, qty=n + 1))["id"] for n in range(4)]
    wanted = [ids[2], ids[0], ids[3], ids[1]]
    response = await client.post(
        f"{ITEMS}/reorder", json={"parent_id": oid, "ids": wanted}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "has_more", "total"}
    assert (body["has_more"], body["total"]) == (False, 4)
    assert [r["id"] for r in body["data"]] == wanted
    assert [r["idx"] for r in body["data"]] == [1, 2, 3, 4]
    assert all(set(r) == ITEM_KEYS for r in body["data"])
    assert await _order(client, admin, ITEMS, oid) == wanted
    # Plain UUIDs and the parent's plain UUID work too; the trailing slash as well.
    response = await client.post(
        f"{ITEMS}/reorder/",
        json={"parent_id": plain_uuid(oid), "ids": [plain_uuid(i) for i in ids]},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert await _order(client, admin, ITEMS, oid) == ids
    # Reordering no rows of a parent without rows.
    empty = await create_opportunity(client, admin)
    response = await client.post(
        f"{ITEMS}/reorder", json={"parent_id": empty["id"], "ids": []}, headers=admin.headers
    )
    assert response.json() == {"data": [], "has_more": False, "total": 0}


async def test_reorder_must_name_every_row_once(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any], test_database: Database
) -> None:
    oid = opportunity["id"]
    a, b, c = [(await create_item(client, admin, oid))["id"] for _ in range(3)]
    other = await create_opportunity(client, admin)
    foreign = (await create_item(client, admin, other["id"]))["id"]
    reason = (await create_lost_reason(client, admin, oid, "Price"))["id"]
    before = await checksum(test_database)
    for ids in (
        [a, b],  # missing
        [a, b, c, foreign],  # extra
        [c, b, a, a],  # duplicate
        [a, a, b],  # duplicate in place of one
        [c, b, foreign],  # another parent's row
        [c, b, reason],  # another kind's id
        [c, b, public("opportunity-item", reason.rsplit("_", 1)[1])],
        [c, b, "garbage"],
        [c, b, f"opportunity-item_{uuid.uuid4().hex}"],
        [],
    ):
        response = await client.post(
            f"{ITEMS}/reorder", json={"parent_id": oid, "ids": ids}, headers=admin.headers
        )
        assert_invalid(response, "ids")
    assert_invalid(
        await client.post(f"{ITEMS}/reorder", json={"parent_id": oid}, headers=admin.headers),
        "ids",
    )
    assert_invalid(
        await client.post(f"{ITEMS}/reorder", json={"ids": [a, b, c]}, headers=admin.headers),
        "parent_id",
    )
    assert_invalid(
        await client.post(
            f"{ITEMS}/reorder", json={"parent_id": "x", "ids": [a, b, c]}, headers=admin.headers
        ),
        "parent_id",
    )
    assert_not_found(
        await client.post(
            f"{ITEMS}/reorder",
            json={"parent_id": f"opportunity_{uuid.uuid4().hex}", "ids": [a, b, c]},
            headers=admin.headers,
        )
    )
    assert await checksum(test_database) == before
    assert await _order(client, admin, ITEMS, oid) == [a, b, c]


# -- items: amounts and totals ---------------------------------------------------------------


async def test_amount_is_qty_times_rate_and_the_totals_follow(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    oid = opportunity["id"]
    first = await create_item(client, admin, oid, qty=3, rate=450)
    assert first["amount"] == 1350
    second = await create_item(client, admin, oid, qty="2.5", rate="19.99")
    assert _d(second["amount"]) == Decimal("49.98")  # 49.975 rounded half up to cents
    third = await create_item(client, admin, oid, qty="0.3333", rate="3")
    assert _d(third["amount"]) == Decimal("1.00")
    parent = await _assert_totals(client, admin, oid)
    assert _d(parent["total"]) == Decimal("1400.98")
    assert _d(parent["opportunity_amount"]) == Decimal("1400.98")
    assert _d(parent["base_total"]) == Decimal("1400.98")
    # qty / rate changes recompute the amount.
    changed = await _patch(client, admin, f"{ITEMS}/{first['id']}", {"qty": 1})
    assert changed["amount"] == 450
    changed = await _patch(client, admin, f"{ITEMS}/{first['id']}", {"rate": "100.10"})
    assert _d(changed["amount"]) == Decimal("100.10")
    parent = await _assert_totals(client, admin, oid)
    assert _d(parent["opportunity_amount"]) == _d(parent["total"]) == Decimal("151.08")
    # Delete: the totals drop; no items left: 0.
    for item in (first, second, third):
        await client.delete(f"{ITEMS}/{item['id']}", headers=admin.headers)
        await _assert_totals(client, admin, oid)
    parent = await get_opportunity(client, admin, oid)
    assert (parent["total"], parent["base_total"], parent["opportunity_amount"]) == (0, 0, 0)


async def test_an_explicit_amount_is_kept(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    oid = opportunity["id"]
    item = await create_item(client, admin, oid, qty=3, rate=10, amount=100)
    assert item["amount"] == 100
    assert (await get_opportunity(client, admin, oid))["total"] == 100
    # Changing other fields keeps it.
    kept = await _patch(client, admin, f"{ITEMS}/{item['id']}", {"item_name": "Renamed"})
    assert kept["amount"] == 100
    # Sent with qty, the sent amount wins; qty alone recomputes it.
    both = await _patch(client, admin, f"{ITEMS}/{item['id']}", {"qty": 5, "amount": 70})
    assert both["amount"] == 70
    recomputed = await _patch(client, admin, f"{ITEMS}/{item['id']}", {"qty": 4})
    assert recomputed["amount"] == 40
    explicit = await _patch(client, admin, f"{ITEMS}/{item['id']}", {"amount": "12.345"})
    assert _d(explicit["amount"]) == Decimal("12.35")  # the currency's minor unit
    parent = await _assert_totals(client, admin, oid)
    assert _d(parent["total"]) == Decimal("12.35")


@pytest.mark.parametrize(
    ("currency", "qty", "rate", "amount"),
    [("USD", "3", "10.005", "30.02"), ("JPY", "3", "10.5", "32"), ("EUR", "1", "0.005", "0.01")],
)
async def test_amount_is_rounded_to_the_currencys_minor_unit(
    currency: str, qty: str, rate: str, amount: str, client: httpx.AsyncClient, admin: Member
) -> None:
    created = await create_opportunity(client, admin, currency=currency)
    item = await create_item(client, admin, created["id"], qty=qty, rate=rate)
    assert _d(item["amount"]) == Decimal(amount)
    parent = await _assert_totals(client, admin, created["id"])
    assert _d(parent["opportunity_amount"]) == Decimal(amount)


async def test_three_decimal_currency_total_is_the_sum(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await create_opportunity(client, admin, currency="KWD")
    item = await create_item(client, admin, created["id"], qty=1, rate="1.005")
    assert _d(item["amount"]) == Decimal("1.005")
    await _assert_totals(client, admin, created["id"])


async def test_currency_round_trip_keeps_qty_times_rate(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    oid = opportunity["id"]
    item = await create_item(client, admin, oid, qty=1, rate="10.50")
    await _patch(client, admin, f"{OPPORTUNITIES}/{oid}", {"currency": "JPY"})
    in_yen = await client.get(f"{ITEMS}/{item['id']}", headers=admin.headers)
    assert in_yen.json()["amount"] == 11
    await _patch(client, admin, f"{OPPORTUNITIES}/{oid}", {"currency": "USD"})
    back = await client.get(f"{ITEMS}/{item['id']}", headers=admin.headers)
    assert _d(back.json()["amount"]) == Decimal("10.50")


async def test_base_values_follow_the_conversion_rate(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await create_opportunity(client, admin, conversion_rate="2")
    oid = created["id"]
    item = await create_item(client, admin, oid, qty=3, rate="12.5")
    assert (item["amount"], item["base_rate"], item["base_amount"]) == (37.5, 25, 75)
    other = await create_item(client, admin, oid, qty=1, rate="0.01")
    assert (other["base_rate"], other["base_amount"]) == (0.02, 0.02)
    parent = await _assert_totals(client, admin, oid)
    assert (parent["total"], parent["base_total"]) == (37.51, 75.02)
    assert (parent["opportunity_amount"], parent["base_opportunity_amount"]) == (37.51, 75.02)
    # A new rate recomputes every item's base values and the base total.
    patched = await _patch(client, admin, f"{OPPORTUNITIES}/{oid}", {"conversion_rate": "0.4"})
    assert (patched["total"], patched["base_total"]) == (37.51, 15)
    assert patched["base_opportunity_amount"] == 15
    items = await _items(client, admin, oid)
    assert [(i["base_rate"], i["base_amount"]) for i in items] == [(5, 15), (0.004, 0)]
    await _assert_totals(client, admin, oid)
    # No rate: 1.
    patched = await _patch(client, admin, f"{OPPORTUNITIES}/{oid}", {"conversion_rate": None})
    assert patched["conversion_rate"] is None
    assert patched["base_total"] == patched["total"] == 37.51
    items = await _items(client, admin, oid)
    assert [(i["base_rate"], i["base_amount"]) for i in items] == [(12.5, 37.5), (0.01, 0.01)]


async def test_item_write_response_matches_a_later_read(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await create_opportunity(client, admin, conversion_rate="1.123456789")
    item = await create_item(client, admin, created["id"], qty=3, rate="10.0001")
    got = await client.get(f"{ITEMS}/{item['id']}", headers=admin.headers)
    assert got.json() == item


async def test_base_amount_rounds_half_up(client: httpx.AsyncClient, admin: Member) -> None:
    created = await create_opportunity(client, admin, conversion_rate="1.125")
    item = await create_item(client, admin, created["id"], qty=1, rate=1)
    assert _d(item["base_amount"]) == Decimal("1.13")


async def test_a_manual_opportunity_amount_sticks_until_cleared(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    oid = opportunity["id"]
    await create_item(client, admin, oid, qty=2, rate=5)
    assert (await get_opportunity(client, admin, oid))["opportunity_amount"] == 10
    manual = await _patch(client, admin, f"{OPPORTUNITIES}/{oid}", {"opportunity_amount": 999})
    assert (manual["opportunity_amount"], manual["total"]) == (999, 10)
    await create_item(client, admin, oid, qty=1, rate=7)
    parent = await _assert_totals(client, admin, oid)
    assert (parent["opportunity_amount"], parent["total"]) == (999, 17)
    # Other PATCHes leave it manual.
    await _patch(client, admin, f"{OPPORTUNITIES}/{oid}", {"city": "Paris"})
    await create_item(client, admin, oid, qty=1, rate=1)
    assert (await get_opportunity(client, admin, oid))["opportunity_amount"] == 999
    # null: follows the total again, at once and after item changes.
    cleared = await _patch(client, admin, f"{OPPORTUNITIES}/{oid}", {"opportunity_amount": None})
    assert cleared["opportunity_amount"] == cleared["total"] == 18
    await create_item(client, admin, oid, qty=1, rate=2)
    parent = await get_opportunity(client, admin, oid)
    assert parent["opportunity_amount"] == parent["total"] == 20


async def test_an_amount_set_on_api_opportunities_sticks_too(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    account = await insert_account(test_database, admin)
    manual = await client.post(
        "/api/opportunities/",
        json={"name": "Manual", "account": account, "amount": "500.00"},
        headers=admin.headers,
    )
    follows = await client.post(
        "/api/opportunities/", json={"name": "Follows", "account": account}, headers=admin.headers
    )
    manual_id = public("opportunity", manual.json()["id"])
    follows_id = public("opportunity", follows.json()["id"])
    for oid in (manual_id, follows_id):
        await create_item(client, admin, oid, qty=2, rate="12.50")
    parent = await get_opportunity(client, admin, manual_id)
    assert (parent["opportunity_amount"], parent["total"]) == (500, 25)
    parent = await get_opportunity(client, admin, follows_id)
    assert (parent["opportunity_amount"], parent["total"]) == (25, 25)
    django = await client.get(f"/api/opportunities/{follows.json()['id']}/", headers=admin.headers)
    assert django.json()["opportunity_obj"]["amount"] == "25.00"
    # Set on /api/opportunities/ later: sticks as well.
    response = await client.patch(
        f"/api/opportunities/{follows.json()['id']}/",
        json={"amount": "1.00"},
        headers=admin.headers,
    )
    assert response.status_code == 200
    await create_item(client, admin, follows_id, qty=1, rate=1)
    parent = await get_opportunity(client, admin, follows_id)
    assert (parent["opportunity_amount"], parent["total"]) == (1, 26)


async def test_clearing_the_amount_on_api_opportunities_follows_the_total(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    oid = opportunity["id"]
    await _patch(client, admin, f"{OPPORTUNITIES}/{oid}", {"opportunity_amount": 5})
    await create_item(client, admin, oid, qty=2, rate=3)
    response = await client.patch(
        f"/api/opportunities/{plain_uuid(oid)}/", json={"amount": None}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    parent = await get_opportunity(client, admin, oid)
    assert parent["opportunity_amount"] == parent["total"] == 6


# -- deleting the parent, listing, isolation -------------------------------------------------


async def test_deleting_the_parent_removes_its_children(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    oid = opportunity["id"]
    item = await create_item(client, admin, oid, qty=1, rate=1)
    reason = await create_lost_reason(client, admin, oid, "Price")
    keep = await create_opportunity(client, admin)
    kept = await create_item(client, admin, keep["id"])
    response = await client.delete(f"{OPPORTUNITIES}/{oid}", headers=admin.headers)
    assert response.status_code == 200
    assert_not_found(await client.get(f"{ITEMS}/{item['id']}", headers=admin.headers))
    assert_not_found(await client.get(f"{LOST_REASONS}/{reason['id']}", headers=admin.headers))
    assert_not_found(
        await client.patch(f"{ITEMS}/{item['id']}", json={"qty": 2}, headers=admin.headers)
    )
    assert_not_found(await client.delete(f"{LOST_REASONS}/{reason['id']}", headers=admin.headers))
    for base in (ITEMS, LOST_REASONS):
        assert_not_found(await client.get(base, params={"parent_id": oid}, headers=admin.headers))
    assert (await client.get(f"{ITEMS}/{kept['id']}", headers=admin.headers)).status_code == 200


@pytest.mark.parametrize("base", [ITEMS, LOST_REASONS])
async def test_list_requires_a_valid_parent_id(
    base: str, client: httpx.AsyncClient, admin: Member
) -> None:
    assert_invalid(await client.get(base, headers=admin.headers), "parent_id")
    assert_invalid(
        await client.get(base, params={"parent_id": ""}, headers=admin.headers), "parent_id"
    )
    assert_invalid(
        await client.get(base, params={"parent_id": "bogus"}, headers=admin.headers), "parent_id"
    )
    assert_not_found(
        await client.get(
            base, params={"parent_id": f"opportunity_{uuid.uuid4().hex}"}, headers=admin.headers
        )
    )


async def test_item_list_pages_by_idx(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    oid = opportunity["id"]
    ids = [(await create_item(client, admin, oid, qty=n + 1))["id"] for n in range(5)]
    seen: list[str] = []
    for offset, size, more in ((0, 2, True), (2, 2, True), (4, 1, False)):
        body = (
            await client.get(
                ITEMS,
                params={"parent_id": oid, "limit": 2, "offset": offset},
                headers=admin.headers,
            )
        ).json()
        assert (len(body["data"]), body["has_more"], body["total"]) == (size, more, 5)
        seen.extend(r["id"] for r in body["data"])
    assert seen == ids
    body = (
        await client.get(ITEMS, params={"parent_id": oid, "offset": 9}, headers=admin.headers)
    ).json()
    assert body == {"data": [], "has_more": False, "total": 5}


@pytest.mark.parametrize("base", [ITEMS, LOST_REASONS])
async def test_another_orgs_parent_and_rows_are_404(
    base: str,
    client: httpx.AsyncClient,
    admin: Member,
    factory: Factory,
    test_database: Database,
) -> None:
    other = await factory.admin()
    theirs = await create_opportunity(client, other)
    if base == ITEMS:
        row = await create_item(client, other, theirs["id"], qty=1, rate=3)
        body: dict[str, Any] = {"qty": 9}
    else:
        row = await create_lost_reason(client, other, theirs["id"], "Budget")
        body = {"lost_reason": "Mine now"}
    before = await checksum(test_database)
    for parent in (theirs["id"], plain_uuid(theirs["id"])):
        assert_not_found(
            await client.get(base, params={"parent_id": parent}, headers=admin.headers)
        )
        assert_not_found(
            await client.post(
                base,
                json={"opportunity_id": parent, **body, "lost_reason": "x"},
                headers=admin.headers,
            )
        )
        assert_not_found(
            await client.post(
                f"{base}/reorder",
                json={"parent_id": parent, "ids": [row["id"]]},
                headers=admin.headers,
            )
        )
    for row_id in (row["id"], plain_uuid(row["id"])):
        url = f"{base}/{row_id}"
        assert_not_found(await client.get(url, headers=admin.headers))
        assert_not_found(await client.patch(url, json=body, headers=admin.headers))
        assert_not_found(await client.delete(url, headers=admin.headers))
    assert await checksum(test_database) == before


@pytest.mark.parametrize("base", [ITEMS, LOST_REASONS])
async def test_unknown_or_malformed_row_ids_are_404(
    base: str, client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    item = await create_item(client, admin, opportunity["id"])
    reason = await create_lost_reason(client, admin, opportunity["id"], "Price")
    own_kind = item if base == ITEMS else reason
    other_kind = reason if base == ITEMS else item
    kind = "opportunity-item" if base == ITEMS else "opportunity-lost-reason-detail"
    for row_id in (
        f"{kind}_{uuid.uuid4().hex}",
        str(uuid.uuid4()),
        other_kind["id"],
        opportunity["id"],
        f"{kind}_{own_kind['id'].rsplit('_', 1)[1][:31]}",
        "garbage",
    ):
        url = f"{base}/{row_id}"
        assert_not_found(await client.get(url, headers=admin.headers))
        assert_not_found(await client.patch(url, json={"idx": 1}, headers=admin.headers))
        assert_not_found(await client.delete(url, headers=admin.headers))


async def test_a_member_works_only_on_rows_of_opportunities_they_see(
    client: httpx.AsyncClient, admin: Member, factory: Factory, test_database: Database
) -> None:
    member = await factory.member_of(admin)
    hidden = await create_opportunity(client, admin)
    item = await create_item(client, admin, hidden["id"], qty=1, rate=1)
    reason = await create_lost_reason(client, admin, hidden["id"], "Price")
    before = await checksum(test_database)
    for base, row in ((ITEMS, item), (LOST_REASONS, reason)):
        assert_denied(
            await client.get(base, params={"parent_id": hidden["id"]}, headers=member.headers)
        )
        assert_denied(await client.get(f"{base}/{row['id']}", headers=member.headers))
        assert_denied(
            await client.patch(f"{base}/{row['id']}", json={"idx": 1}, headers=member.headers)
        )
        assert_denied(await client.delete(f"{base}/{row['id']}", headers=member.headers))
        assert_denied(
            await client.post(
                f"{base}/reorder",
                json={"parent_id": hidden["id"], "ids": [row["id"]]},
                headers=member.headers,
            )
        )
    assert await checksum(test_database) == before
    # Once assigned, the member may work on the rows.
    response = await client.patch(
        f"/api/opportunities/{plain_uuid(hidden['id'])}/",
        json={"assigned_to": [member.profile_id]},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    await create_item(client, member, hidden["id"], qty=2, rate=2)
    parent = await get_opportunity(client, member, hidden["id"])
    assert parent["total"] == 5


# -- lost reasons ----------------------------------------------------------------------------


async def test_lost_reasons_crud_and_idx(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any], test_database: Database
) -> None:
    oid = opportunity["id"]
    price = await create_lost_reason(client, admin, oid, "Price")
    assert set(price) == LOST_REASON_KEYS
    assert is_public_id("opportunity-lost-reason-detail", price["id"])
    assert (price["idx"], price["opportunity_id"], price["parent_id"]) == (1, oid, oid)
    assert price["lost_reason"] == "Price"
    timing = await create_lost_reason(client, admin, oid, "Timing")
    response = await client.post(
        LOST_REASONS,
        json={"parent_id": plain_uuid(oid), "lost_reason": "  Competitor  ", "idx": 1},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    competitor = response.json()
    assert (competitor["idx"], competitor["lost_reason"]) == (1, "Competitor")
    assert await _order(client, admin, LOST_REASONS, oid) == [
        competitor["id"],
        price["id"],
        timing["id"],
    ]
    got = await client.get(f"{LOST_REASONS}/{price['id']}", headers=admin.headers)
    assert got.json()["idx"] == 2
    renamed = await _patch(client, admin, f"{LOST_REASONS}/{price['id']}", {"lost_reason": "Cost"})
    assert (renamed["lost_reason"], renamed["idx"]) == ("Cost", 2)
    await _patch(client, admin, f"{LOST_REASONS}/{competitor['id']}", {"idx": 3})
    assert await _order(client, admin, LOST_REASONS, oid) == [
        price["id"],
        timing["id"],
        competitor["id"],
    ]
    response = await client.post(
        f"{LOST_REASONS}/reorder",
        json={"parent_id": oid, "ids": [timing["id"], competitor["id"], price["id"]]},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert [r["idx"] for r in response.json()["data"]] == [1, 2, 3]
    assert response.json()["total"] == 3
    deleted = await client.delete(f"{LOST_REASONS}/{competitor['id']}", headers=admin.headers)
    assert deleted.json() == {"id": competitor["id"], "deleted": True}
    assert await _order(client, admin, LOST_REASONS, oid) == [timing["id"], price["id"]]
    # Lost reasons never touch the totals.
    parent = await get_opportunity(client, admin, oid)
    assert (parent["total"], parent["base_total"]) == (None, None)
    # Bad input changes nothing.
    before = await checksum(test_database)
    for body in (
        {"opportunity_id": oid},
        {"opportunity_id": oid, "lost_reason": ""},
        {"opportunity_id": oid, "lost_reason": None},
        {"opportunity_id": oid, "lost_reason": "x" * 256},
    ):
        response = await client.post(LOST_REASONS, json=body, headers=admin.headers)
        assert_invalid(response, "lost_reason")
    for body in ({"lost_reason": ""}, {"idx": 0}):
        response = await client.patch(
            f"{LOST_REASONS}/{price['id']}", json=body, headers=admin.headers
        )
        assert_invalid(response, next(iter(body)))
    for ids in ([price["id"]], [price["id"], price["id"]], [price["id"], timing["id"], "x"]):
        response = await client.post(
            f"{LOST_REASONS}/reorder", json={"parent_id": oid, "ids": ids}, headers=admin.headers
        )
        assert_invalid(response, "ids")
    assert await checksum(test_database) == before


async def test_lost_reason_patch_with_null_keeps_the_reason(
    client: httpx.AsyncClient, admin: Member, opportunity: dict[str, Any]
) -> None:
    reason = await create_lost_reason(client, admin, opportunity["id"], "Price")
    response = await client.patch(
        f"{LOST_REASONS}/{reason['id']}", json={"lost_reason": None}, headers=admin.headers
    )
    assert response.status_code in (200, 400), response.text
    got = await client.get(f"{LOST_REASONS}/{reason['id']}", headers=admin.headers)
    assert got.json()["lost_reason"] == "Price"
