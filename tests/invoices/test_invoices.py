"""Invoices (§13) through the HTTP API: create defaults, generated and client numbers, titles,
line items and their totals (rounded half up per line in the currency's minor unit), the legacy
single line, lump sums, ``total_mismatch``, ``overpaid`` and ``too_large``, marking paid, partial
updates, addresses, accounts (many), list envelope and filters, statement counts, visibility
and permissions (§1.3), the PDF, comments and attachments (served by the activity module), and
the invoices shown on an account's detail.

Expected amounts are worked out by hand in the comments (``Decimal``, half up, per line, then
summed), never with crm.invoices.totals."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update

from crm.core.db import Base, Database
from crm.core.tenancy import unscoped
from crm.models import Org
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.records.api import RecordApi, field_error, new_account, new_contact, new_team
from tests.shapes import DENIED, MEMBER_BRIEF_KEYS, NOT_FOUND
from tests.sql_count import count_statements

ITEM_KEYS = {
    "id",
    "invoice_title",
    "invoice_number",
    "status",
    "due_date",
    "paid_on",
    "name",
    "email",
    "phone",
    "currency",
    "quantity",
    "rate",
    "tax",
    "subtotal",
    "discount_amount",
    "tax_amount",
    "total_amount",
    "amount_paid",
    "amount_due",
    "details",
    "is_email_sent",
    "from_address",
    "to_address",
    "accounts",
    "assigned_to",
    "teams",
    "tags",
    "org",
    "created_on",
    "created_at",
    "updated_at",
    "created_by",
}
# Write responses and the detail's invoice_obj: the list item plus the line items.
OUT_KEYS = ITEM_KEYS | {"line_items"}
LINE_KEYS = {
    "id",
    "description",
    "quantity",
    "rate",
    "tax",
    "discount",
    "subtotal",
    "discount_amount",
    "tax_amount",
    "total",
}
ADDRESS_KEYS = {"address_line", "street", "city", "state", "postcode", "country"}
NO_ADDRESS = dict.fromkeys(ADDRESS_KEYS)
LIST_KEYS = {
    "count",
    "next",
    "previous",
    "results",
    "status",
    "accounts_list",
    "contacts_list",
    "users",
    "teams",
}
DETAIL_KEYS = {
    "invoice_obj",
    "accounts",
    "assigned_to",
    "teams",
    "tags",
    "comments",
    "attachments",
    "users_mention",
    "comment_permission",
    "status",
}
STATUSES = ["Draft", "Sent", "Paid", "Pending", "Cancelled"]
TITLE_TAKEN = "Invoice already exists with this title"
NUMBER_TAKEN = "Invoice already exists with this number"

# One line: 3 x 19.99 = 59.97; discount 10% of 59.97 = 5.997 -> 6.00; tax 20% of
# (59.97 - 6.00 = 53.97) = 10.794 -> 10.79; total 59.97 - 6.00 + 10.79 = 64.76.
LINE = {"description": "Widgets", "quantity": "3", "rate": "19.99", "discount": "10", "tax": "20"}
LINE_TOTAL = "64.76"


# -- helpers -----------------------------------------------------------------------------------


API = RecordApi("/api/invoices/", "invoice_title", "Invoice")
_change, _changed, _detail, _list, _titles = (
    API.change,
    API.changed,
    API.detail,
    API.list,
    API.names,
)
_field_error, _account, _contact, _team = field_error, new_account, new_contact, new_team


def _body(**body: Any) -> dict[str, Any]:
    """A valid create body: a fresh title, the customer's name and e-mail, and ``body``."""
    body.setdefault("invoice_title", f"Invoice {uuid.uuid4().hex[:8]}")
    body.setdefault("name", "Jane Customer")
    body.setdefault("email", "jane@example.com")
    return body


async def _post(client: httpx.AsyncClient, member: Member, **body: Any) -> httpx.Response:
    return await API.post(client, member, **_body(**body))


async def _create(client: httpx.AsyncClient, member: Member, **body: Any) -> dict[str, Any]:
    return await API.create(client, member, **_body(**body))


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _amounts(invoice: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        invoice["subtotal"],
        invoice["discount_amount"],
        invoice["tax_amount"],
        invoice["total_amount"],
    )


def _line_amounts(line: dict[str, Any]) -> tuple[str, str, str, str]:
    return (line["subtotal"], line["discount_amount"], line["tax_amount"], line["total"])


def _code(response: httpx.Response, field: str) -> str:
    """The ``code`` of a 400 on ``field``."""
    assert _field_error(response, field)
    return str(response.json()["code"])


def _numbers(page: dict[str, Any]) -> list[str]:
    return [item["invoice_number"] for item in page["results"]]


async def _pdf_text(client: httpx.AsyncClient, member: Member, invoice_id: str) -> str:
    response = await client.get(f"/api/invoices/{invoice_id}/pdf/", headers=member.headers)
    assert response.status_code == 200, response.text
    pages = PdfReader(io.BytesIO(response.content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


async def _invoice_rows(database: Database) -> dict[str, int]:
    """How many rows the invoice tables and the activity tables hold, in every org."""
    names = (
        "invoices",
        "invoice_lines",
        "invoices_accounts",
        "invoices_teams",
        "invoices_tags",
        "comments",
        "attachments",
    )
    counts: dict[str, int] = {}
    async with database.sessionmaker() as session:
        with unscoped(session):
            for name in names:
                table = Base.metadata.tables[name]
                counts[name] = int(
                    await session.scalar(select(func.count()).select_from(table)) or 0
                )
    return counts


@pytest.fixture
async def admin(factory: Factory) -> Member:
    return await factory.admin()


# -- create: defaults, every field, required fields ---------------------------------------------


async def test_create_minimal_gets_the_defaults(client: httpx.AsyncClient, admin: Member) -> None:
    created = await _create(
        client, admin, invoice_title="March retainer", name="ACME Ltd", email="ap@acme.example"
    )
    assert set(created) == OUT_KEYS
    assert (created["invoice_title"], created["name"], created["email"]) == (
        "March retainer",
        "ACME Ltd",
        "ap@acme.example",
    )
    assert created["invoice_number"] == "INV-0001"
    assert (created["status"], created["currency"]) == ("Draft", "USD")
    assert _amounts(created) == ("0.00", "0.00", "0.00", "0.00")
    assert (created["amount_paid"], created["amount_due"]) == ("0.00", "0.00")
    assert created["line_items"] == []
    assert (created["quantity"], created["rate"], created["tax"]) == (None, None, None)
    assert (created["phone"], created["due_date"], created["paid_on"], created["details"]) == (
        None,
        None,
        None,
        None,
    )
    assert created["is_email_sent"] is False
    assert created["from_address"] == NO_ADDRESS
    assert created["to_address"] == NO_ADDRESS
    assert (created["accounts"], created["assigned_to"], created["teams"], created["tags"]) == (
        [],
        [],
        [],
        [],
    )
    assert created["created_by"] == admin.profile_id
    assert created["org"] == admin.org_id
    assert created["created_at"] == created["created_on"]

    second = await _create(client, admin)
    assert second["invoice_number"] == "INV-0002"

    page = await _list(client, admin)
    assert set(page) == LIST_KEYS
    assert set(page["results"][0]) == ITEM_KEYS  # no line items in list items
    assert page["results"][1] == {k: v for k, v in created.items() if k != "line_items"}
    detail = await _detail(client, admin, created["id"])
    assert set(detail) == DETAIL_KEYS
    assert detail["invoice_obj"] == created


async def test_create_with_every_field(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    agent = await factory.member_of(admin)
    acme = await _account(client, admin, "ACME Corporation")
    globex = await _account(client, admin, "Globex")
    team = await _team(client, admin, "Billing")
    created = await _create(
        client,
        admin,
        invoice_title="Website redesign",
        invoice_number="2025/042",
        status="sent",
        name="Jane Customer",
        email="jane@acme.example",
        phone="+44 20 7946 0000",
        currency="eur",
        due_date="2025-03-31",
        details="Thank you for your business.",
        accounts=[globex, acme],
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["web", "q1"],
        from_address={
            "address_line": "Unit 4",
            "street": "1 Acme Street",
            "city": "London",
            "state": "Greater London",
            "postcode": "EC1A 1AA",
            "country": "GB",
        },
        to_city="Leeds",
        to_country="GB",
        line_items=[LINE, {"description": "Hosting", "rate": "10"}],
    )
    assert created["invoice_number"] == "2025/042"
    assert (created["status"], created["currency"]) == ("Sent", "EUR")
    assert (created["phone"], created["due_date"]) == ("+44 20 7946 0000", "2025-03-31")
    assert created["details"] == "Thank you for your business."
    assert created["accounts"] == [acme, globex]  # by name
    assert created["assigned_to"] == [agent.profile_id]
    assert created["teams"] == [team]
    assert sorted(created["tags"]) == ["q1", "web"]
    assert created["from_address"] == {
        "address_line": "Unit 4",
        "street": "1 Acme Street",
        "city": "London",
        "state": "Greater London",
        "postcode": "EC1A 1AA",
        "country": "GB",
    }
    assert created["to_address"] == {**NO_ADDRESS, "city": "Leeds", "country": "GB"}
    # 64.76 (LINE) + 1 x 10 = 10.00: subtotal 59.97 + 10.00, discount 6.00, tax 10.79.
    assert _amounts(created) == ("69.97", "6.00", "10.79", "74.76")
    assert created["amount_due"] == "74.76"
    assert [line["description"] for line in created["line_items"]] == ["Widgets", "Hosting"]
    assert set(created["line_items"][0]) == LINE_KEYS
    assert created["line_items"][1]["quantity"] == "1"  # the default quantity

    detail = await _detail(client, admin, created["id"])
    assert detail["invoice_obj"] == created
    assert detail["accounts"] == [
        {"id": acme, "name": "ACME Corporation"},
        {"id": globex, "name": "Globex"},
    ]
    assert [m["id"] for m in detail["assigned_to"]] == [agent.profile_id]
    assert detail["teams"] == [{"id": team, "name": "Billing"}]
    assert detail["invoice_obj"]["line_items"] == created["line_items"]


async def test_title_name_and_email_are_required_and_checked(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    for field in ("invoice_title", "name", "email"):
        body = _body()
        del body[field]
        assert _field_error(await API.post(client, admin, **body), field), field
        assert _field_error(await API.post(client, admin, **{**body, field: None}), field), field
        assert _field_error(await API.post(client, admin, **{**body, field: "  "}), field), field
    too_long = [("invoice_title", "x" * 51), ("name", "x" * 101), ("invoice_number", "x" * 51)]
    for field, value in too_long:
        assert _field_error(await _post(client, admin, **{field: value}), field), field
    for email in ("not-an-email", "jane@", "@example.com"):
        assert _field_error(await _post(client, admin, email=email), "email"), email
    assert await checksum(test_database) == before
    longest = await _create(client, admin, invoice_title="t" * 50, name="n" * 100)
    assert (longest["invoice_title"], longest["name"]) == ("t" * 50, "n" * 100)


async def test_unknown_status_currency_or_date_is_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    invalid: list[tuple[str, Any]] = [
        ("status", "Overdue"),
        ("status", ""),
        ("status", 3),
        ("currency", "US"),
        ("currency", "usdollar"),
        ("currency", "U$D"),
        ("currency", ""),
        ("due_date", "2025-02-30"),
        ("paid_on", "yesterday"),
    ]
    before = await checksum(test_database)
    for field, value in invalid:
        assert _field_error(await _post(client, admin, **{field: value}), field), value
    assert await checksum(test_database) == before


async def test_status_and_currency_are_case_insensitive(
    client: httpx.AsyncClient, admin: Member
) -> None:
    for sent, stored in (("PENDING", "Pending"), ("cancelled", "Cancelled"), ("sEnT", "Sent")):
        assert (await _create(client, admin, status=sent))["status"] == stored
    assert (await _create(client, admin, currency=" gbp "))["currency"] == "GBP"


# -- totals: line items ------------------------------------------------------------------------


async def test_a_line_is_rounded_half_up_amount_by_amount(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await _create(client, admin, line_items=[LINE])
    (line,) = created["line_items"]
    assert (line["description"], line["quantity"], line["rate"]) == ("Widgets", "3", "19.99")
    assert (line["discount"], line["tax"]) == ("10", "20")
    assert _line_amounts(line) == ("59.97", "6.00", "10.79", LINE_TOTAL)
    assert _amounts(created) == ("59.97", "6.00", "10.79", LINE_TOTAL)
    assert (created["amount_paid"], created["amount_due"]) == ("0.00", LINE_TOTAL)
    detail = await _detail(client, admin, created["id"])
    assert detail["invoice_obj"]["line_items"] == created["line_items"]


async def test_invoice_totals_are_sums_of_the_rounded_lines(
    client: httpx.AsyncClient, admin: Member
) -> None:
    lines = [
        LINE,
        # 1.5 x 33.33 = 49.995 -> 50.00 (half up); tax 7.5% of 50.00 = 3.75; total 53.75.
        {"description": "Support", "quantity": "1.5", "rate": "33.33", "tax": "7.5"},
        # 2 x 0.125 = 0.25; discount 50% = 0.125 -> 0.13; total 0.12.
        {"description": "Stickers", "quantity": "2", "rate": "0.125", "discount": "50"},
    ]
    created = await _create(client, admin, line_items=lines)
    assert [_line_amounts(line) for line in created["line_items"]] == [
        ("59.97", "6.00", "10.79", "64.76"),
        ("50.00", "0.00", "3.75", "53.75"),
        ("0.25", "0.13", "0.00", "0.12"),
    ]
    # 59.97 + 50.00 + 0.25; 6.00 + 0.13; 10.79 + 3.75; 64.76 + 53.75 + 0.12.
    assert _amounts(created) == ("110.22", "6.13", "14.54", "118.63")
    assert created["amount_due"] == "118.63"
    assert [line["description"] for line in created["line_items"]] == [
        "Widgets",
        "Support",
        "Stickers",
    ]


@pytest.mark.parametrize(
    ("currency", "line", "line_amounts", "zero"),
    [
        # 1 x 1234.5 = 1234.5 -> 1235; tax 10% of 1235 = 123.5 -> 124; total 1359.
        ("JPY", {"rate": "1234.5", "tax": "10"}, ("1235", "0", "124", "1359"), "0"),
        # 1 x 1.2345 -> 1.235; tax 10% = 0.1235 -> 0.124; total 1.359.
        ("KWD", {"rate": "1.2345", "tax": "10"}, ("1.235", "0.000", "0.124", "1.359"), "0.000"),
        # 2 x 0.5 = 1 -> 1; discount 50% = 0.5 -> 1 (half up); total 0.
        ("JPY", {"quantity": "2", "rate": "0.5", "discount": "50"}, ("1", "1", "0", "0"), "0"),
    ],
)
async def test_amounts_use_the_currency_minor_unit(
    client: httpx.AsyncClient,
    admin: Member,
    currency: str,
    line: dict[str, str],
    line_amounts: tuple[str, str, str, str],
    zero: str,
) -> None:
    created = await _create(client, admin, currency=currency, line_items=[line])
    assert _line_amounts(created["line_items"][0]) == line_amounts
    assert _amounts(created) == line_amounts
    assert (created["amount_paid"], created["amount_due"]) == (zero, line_amounts[3])


async def test_changing_the_currency_recomputes_every_amount(
    client: httpx.AsyncClient, admin: Member
) -> None:
    line = {"quantity": "1", "rate": "1234.5", "tax": "10"}
    created = await _create(client, admin, line_items=[line])
    # USD: 1234.50; tax 123.45; total 1357.95.
    assert _amounts(created) == ("1234.50", "0.00", "123.45", "1357.95")
    yen = await _changed(client, admin, created["id"], currency="jpy")
    assert yen["currency"] == "JPY"
    assert _amounts(yen) == ("1235", "0", "124", "1359")
    assert _line_amounts(yen["line_items"][0]) == ("1235", "0", "124", "1359")
    assert yen["amount_due"] == "1359"
    dinar = await _changed(client, admin, created["id"], method="PUT", currency="KWD")
    assert _amounts(dinar) == ("1234.500", "0.000", "123.450", "1357.950")
    detail = await _detail(client, admin, created["id"])
    assert _amounts(detail["invoice_obj"]) == ("1234.500", "0.000", "123.450", "1357.950")


async def test_quantities_rates_and_percentages_print_plain(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    line = {"quantity": "1.5000", "rate": "100", "tax": "8.8750", "discount": "0.5"}
    created = await _create(client, admin, line_items=[line])
    (out,) = created["line_items"]
    assert (out["quantity"], out["rate"], out["tax"], out["discount"]) == (
        "1.5",
        "100",
        "8.875",
        "0.5",
    )
    # 1.5 x 100 = 150.00; discount 0.75; tax 8.875% of 149.25 = 13.2459375 -> 13.25.
    assert _line_amounts(out) == ("150.00", "0.75", "13.25", "162.50")
    assert (await _create(client, admin, line_items=[{"rate": "0.0001"}]))["line_items"][0][
        "rate"
    ] == "0.0001"
    before = await checksum(test_database)
    for field in ("quantity", "rate", "tax", "discount"):
        response = await _post(client, admin, line_items=[{"rate": "1", field: "1.23456"}])
        assert _field_error(response, "line_items"), field
    assert _field_error(await _post(client, admin, rate="1.00001"), "rate")
    assert await checksum(test_database) == before


async def test_out_of_range_line_values_are_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    invalid = [
        {"quantity": "-1", "rate": "10"},
        {"rate": "-0.01"},
        {"rate": "10", "tax": "100.01"},
        {"rate": "10", "discount": "101"},
        {"rate": "10", "tax": "-5"},
        {"rate": "ten"},
        {"rate": "10", "description": "d" * 501},
    ]
    before = await checksum(test_database)
    for line in invalid:
        response = await _post(client, admin, line_items=[{"rate": "1"}, line])
        assert _field_error(response, "line_items"), line
    assert await checksum(test_database) == before
    # The bounds themselves are fine: 0 and 100 percent.
    edge = await _create(client, admin, line_items=[{"rate": "10", "tax": "100", "discount": "0"}])
    assert _line_amounts(edge["line_items"][0]) == ("10.00", "0.00", "10.00", "20.00")


async def test_at_most_500_line_items(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    lines = [{"description": f"Line {n}", "rate": "0.01"} for n in range(501)]
    assert _field_error(await _post(client, admin, line_items=lines), "line_items")
    assert await checksum(test_database) == before
    created = await _create(client, admin, line_items=lines[:500])
    assert len(created["line_items"]) == 500
    assert created["line_items"][499]["description"] == "Line 499"
    assert created["total_amount"] == "5.00"


# -- totals: legacy single line, lump sum, mismatch, overpaid, too large -----------------------


@pytest.mark.parametrize("hours_key", ["quality_hours", "quantity"])
async def test_the_legacy_single_line_totals_an_invoice_without_lines(
    client: httpx.AsyncClient, admin: Member, hours_key: str
) -> None:
    created = await _create(client, admin, **{hours_key: 8}, rate="12.50", tax="10")
    assert (created["quantity"], created["rate"], created["tax"]) == (8, "12.5", "10")
    # 8 x 12.50 = 100.00; tax 10% = 10.00; total 110.00.
    assert _amounts(created) == ("100.00", "0.00", "10.00", "110.00")
    assert created["amount_due"] == "110.00"
    assert created["line_items"] == []
    more = await _changed(client, admin, created["id"], quality_hours=9)
    # 9 x 12.50 = 112.50; tax 11.25; total 123.75.
    assert (more["quantity"], _amounts(more)) == (9, ("112.50", "0.00", "11.25", "123.75"))
    untaxed = await _changed(client, admin, created["id"], tax=None)
    assert (untaxed["tax"], untaxed["total_amount"]) == (None, "112.50")
    assert _field_error(await _post(client, admin, quantity="1.5", rate="1"), "quantity")
    assert _field_error(await _post(client, admin, quantity=-1), "quantity")


async def test_a_lump_sum_total_is_kept_as_sent(client: httpx.AsyncClient, admin: Member) -> None:
    created = await _create(client, admin, total_amount="1500.5")
    assert _amounts(created) == ("1500.50", "0.00", "0.00", "1500.50")
    assert created["amount_due"] == "1500.50"
    changed = await _changed(client, admin, created["id"], total_amount="99.99")
    assert (changed["total_amount"], changed["amount_due"]) == ("99.99", "99.99")
    kept = await _changed(client, admin, created["id"], details="kept")
    assert kept["total_amount"] == "99.99"
    assert (await _list(client, admin))["results"][0]["total_amount"] == "99.99"


async def test_a_sent_total_must_match_the_computed_one(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    response = await _post(client, admin, line_items=[LINE], total_amount="64.75")
    assert _code(response, "total_amount") == "total_mismatch"
    (message,) = response.json()["errors"]["total_amount"]
    assert f"{LINE_TOTAL} USD" in message
    # A rate makes the legacy line: 2 x 10 = 20.00, so 25 does not match either.
    response = await _post(client, admin, quantity=2, rate="10", total_amount="25")
    assert _code(response, "total_amount") == "total_mismatch"
    assert "20.00" in response.json()["errors"]["total_amount"][0]
    assert await checksum(test_database) == before

    matching = await _create(client, admin, line_items=[LINE], total_amount="64.760")
    assert matching["total_amount"] == LINE_TOTAL
    legacy = await _create(client, admin, quantity=2, rate="10", total_amount="20")
    assert legacy["total_amount"] == "20.00"

    before = await checksum(test_database)
    response = await _change(client, admin, matching["id"], total_amount="1")
    assert _code(response, "total_amount") == "total_mismatch"
    response = await _change(
        client, admin, matching["id"], line_items=[{"rate": "5"}], total_amount="64.76"
    )
    assert _code(response, "total_amount") == "total_mismatch"
    assert await checksum(test_database) == before


async def test_amount_paid_may_not_exceed_the_total(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    response = await _post(client, admin, line_items=[LINE], amount_paid="64.77")
    assert _code(response, "amount_paid") == "overpaid"
    assert _code(await _post(client, admin, amount_paid="0.01"), "amount_paid") == "overpaid"
    assert await checksum(test_database) == before

    part = await _create(client, admin, line_items=[LINE], amount_paid="20.5")
    assert (part["total_amount"], part["amount_paid"], part["amount_due"]) == (
        LINE_TOTAL,
        "20.50",
        "44.26",
    )
    full = await _changed(client, admin, part["id"], amount_paid="64.76")
    assert (full["amount_paid"], full["amount_due"]) == ("64.76", "0.00")
    before = await checksum(test_database)
    response = await _change(client, admin, part["id"], amount_paid="100")
    assert _code(response, "amount_paid") == "overpaid"
    # Lowering the total below what was paid is refused too.
    response = await _change(client, admin, part["id"], line_items=[{"rate": "1"}])
    assert _code(response, "amount_paid") == "overpaid"
    assert await checksum(test_database) == before
    cleared = await _changed(client, admin, part["id"], amount_paid=None)
    assert (cleared["amount_paid"], cleared["amount_due"]) == ("0.00", LINE_TOTAL)


async def test_amounts_too_large_are_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    huge = {"quantity": "99999999", "rate": "9999999999"}
    response = await _post(client, admin, line_items=[huge])
    assert _code(response, "line_items") == "too_large"
    response = await _post(client, admin, quantity=99999999, rate="9999999999")
    assert _code(response, "rate") == "too_large"
    # Two lines under the cap whose total is over it.
    half = {"quantity": "100", "rate": "6000000000"}
    response = await _post(client, admin, line_items=[half, half])
    assert _code(response, "line_items") == "too_large"
    # Past the schema's 12 integer digits: refused before any arithmetic.
    response = await _post(client, admin, total_amount="1000000000000")
    assert _field_error(response, "total_amount")
    assert await checksum(test_database) == before
    largest = await _create(client, admin, total_amount="999999999999.99")
    assert largest["total_amount"] == "999999999999.99"


async def test_hours_without_a_rate_are_still_a_lump_sum(
    client: httpx.AsyncClient, admin: Member
) -> None:
    response = await _post(client, admin, quantity=5, total_amount="100")
    assert response.status_code == 201, response.text
    assert response.json()["total_amount"] == "100.00"


async def test_an_invoice_subtotal_above_the_cap_is_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    # Each line: 100 x 6,000,000,000 = 600,000,000,000.00, all discounted: total 0.00; the
    # invoice subtotal and discount are 1,200,000,000,000.00 each.
    line = {"quantity": "100", "rate": "6000000000", "discount": "100"}
    before = await checksum(test_database)
    response = await _post(client, admin, line_items=[line, line])
    assert _code(response, "line_items") == "too_large"
    assert await checksum(test_database) == before


async def test_a_currency_change_never_rounds_an_amount_away(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    """A lump sum or a payment the new currency cannot hold exactly (0.50 in yen) refuses the
    change on ``currency``; amounts with more places than the currency has are refused on
    their own field; whole amounts move freely."""
    created = await _create(client, admin, total_amount="1500.50", amount_paid="0.50")
    before = await checksum(test_database)
    response = await _change(client, admin, created["id"], currency="JPY")
    assert _code(response, "currency") == "too_precise"
    assert await checksum(test_database) == before
    response = await _post(client, admin, total_amount="10.005")
    assert _code(response, "total_amount") == "too_precise"
    response = await _post(client, admin, currency="JPY", total_amount="100", amount_paid="0.5")
    assert _code(response, "amount_paid") == "too_precise"
    assert await checksum(test_database) == before
    whole = await _changed(client, admin, created["id"], total_amount="1500", amount_paid="1")
    yen = await _changed(client, admin, whole["id"], currency="JPY")
    assert (yen["total_amount"], yen["amount_paid"], yen["amount_due"]) == ("1500", "1", "1499")
    back = await _changed(client, admin, whole["id"], currency="KWD")
    assert (back["total_amount"], back["amount_paid"]) == ("1500.000", "1.000")
    # Line items are recomputed from their inputs in the new currency instead.
    lined = await _create(client, admin, line_items=[{"quantity": "1", "rate": "0.4"}])
    assert (await _changed(client, admin, lined["id"], currency="JPY"))["total_amount"] == "0"
    assert (await _changed(client, admin, lined["id"], currency="USD"))["total_amount"] == "0.40"


# -- paid --------------------------------------------------------------------------------------


async def test_an_invoice_created_paid_is_dated_today_and_paid_in_full(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await _create(client, admin, status="PAID", line_items=[LINE])
    assert (created["status"], created["paid_on"]) == ("Paid", _today())
    assert (created["amount_paid"], created["amount_due"]) == (LINE_TOTAL, "0.00")
    lump = await _create(client, admin, status="Paid", total_amount="250")
    assert (lump["amount_paid"], lump["amount_due"]) == ("250.00", "0.00")


async def test_a_sent_paid_on_or_amount_paid_wins_when_created_paid(
    client: httpx.AsyncClient, admin: Member
) -> None:
    dated = await _create(client, admin, status="Paid", paid_on="2024-12-24", line_items=[LINE])
    assert (dated["paid_on"], dated["amount_paid"]) == ("2024-12-24", LINE_TOTAL)
    partly = await _create(client, admin, status="Paid", amount_paid="10", line_items=[LINE])
    assert (partly["paid_on"], partly["amount_paid"], partly["amount_due"]) == (
        _today(),
        "10.00",
        "54.76",
    )
    unpaid = await _create(client, admin, status="Paid", amount_paid="0", line_items=[LINE])
    assert (unpaid["amount_paid"], unpaid["amount_due"]) == ("0.00", LINE_TOTAL)
    draft = await _create(client, admin, paid_on="2024-01-02")
    assert (draft["status"], draft["paid_on"]) == ("Draft", "2024-01-02")


async def test_moving_into_and_out_of_paid(client: httpx.AsyncClient, admin: Member) -> None:
    invoice_id = (await _create(client, admin, status="Sent", line_items=[LINE]))["id"]
    paid = await _changed(client, admin, invoice_id, status="paid")
    assert (paid["status"], paid["paid_on"]) == ("Paid", _today())
    assert (paid["amount_paid"], paid["amount_due"]) == (LINE_TOTAL, "0.00")

    reopened = await _changed(client, admin, invoice_id, method="PUT", status="Sent")
    assert (reopened["status"], reopened["paid_on"]) == ("Sent", None)
    assert reopened["amount_paid"] == LINE_TOTAL  # what was paid stays recorded

    dated = await _changed(
        client, admin, invoice_id, status="PAID", paid_on="2025-01-15", amount_paid="30"
    )
    assert (dated["paid_on"], dated["amount_paid"], dated["amount_due"]) == (
        "2025-01-15",
        "30.00",
        "34.76",
    )
    # The same status again is no move: the date and the amount stay.
    again = await _changed(client, admin, invoice_id, status="Paid", details="again")
    assert (again["paid_on"], again["amount_paid"]) == ("2025-01-15", "30.00")
    moved = await _changed(client, admin, invoice_id, paid_on="2025-01-20")
    assert (moved["status"], moved["paid_on"]) == ("Paid", "2025-01-20")

    pending = await _changed(client, admin, invoice_id, status="Pending", paid_on="2025-02-01")
    assert (pending["status"], pending["paid_on"]) == ("Pending", "2025-02-01")
    cancelled = await _changed(client, admin, invoice_id, status="cancelled")
    assert (cancelled["status"], cancelled["paid_on"]) == ("Cancelled", None)
    detail = await _detail(client, admin, invoice_id)
    assert (detail["invoice_obj"]["status"], detail["invoice_obj"]["paid_on"]) == (
        "Cancelled",
        None,
    )


# -- titles and numbers ------------------------------------------------------------------------


async def test_titles_are_unique_per_org_case_insensitively(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    first = await _create(client, admin, invoice_title="March Retainer")
    before = await checksum(test_database)
    response = await _post(client, admin, invoice_title="  march RETAINER ")
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": True,
            "errors": {"invoice_title": [TITLE_TAKEN]},
            "code": "invoice_title_taken",
        },
    )
    assert await checksum(test_database) == before
    second = await _create(client, admin, invoice_title="April retainer")
    before = await checksum(test_database)
    response = await _change(client, admin, second["id"], invoice_title="MARCH retainer")
    assert _code(response, "invoice_title") == "invoice_title_taken"
    assert await checksum(test_database) == before
    renamed = await _changed(client, admin, first["id"], invoice_title="MARCH RETAINER")
    assert renamed["invoice_title"] == "MARCH RETAINER"
    other = await factory.admin()
    assert (await _create(client, other, invoice_title="March retainer"))["org"] == other.org_id


async def test_numbers_are_unique_per_org_case_insensitively(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    first = await _create(client, admin, invoice_number="ACME-7")
    second = await _create(client, admin)
    assert second["invoice_number"] == "INV-0001"
    before = await checksum(test_database)
    response = await _post(client, admin, invoice_number="acme-7")
    assert response.json() == {
        "error": True,
        "errors": {"invoice_number": [NUMBER_TAKEN]},
        "code": "invoice_number_taken",
    }
    assert _code(await _post(client, admin, invoice_number="inv-0001"), "invoice_number") == (
        "invoice_number_taken"
    )
    response = await _change(client, admin, second["id"], invoice_number="Acme-7")
    assert _code(response, "invoice_number") == "invoice_number_taken"
    assert await checksum(test_database) == before
    # Its own number in another case is no clash.
    own = await _changed(client, admin, first["id"], invoice_number="acme-7")
    assert own["invoice_number"] == "acme-7"
    renumbered = await _changed(client, admin, second["id"], invoice_number="ACME-8")
    assert renumbered["invoice_number"] == "ACME-8"
    other = await factory.admin()
    assert (await _create(client, other, invoice_number="ACME-7"))["invoice_number"] == "ACME-7"
    assert (await _create(client, other))["invoice_number"] == "INV-0001"


async def test_the_generator_skips_numbers_already_taken(
    client: httpx.AsyncClient, admin: Member
) -> None:
    await _create(client, admin, invoice_number="INV-0001")
    await _create(client, admin, invoice_number="inv-0003")
    assert (await _create(client, admin))["invoice_number"] == "INV-0002"
    assert (await _create(client, admin, invoice_number=""))["invoice_number"] == "INV-0004"
    assert (await _create(client, admin, invoice_number="   "))["invoice_number"] == "INV-0005"
    assert (await _create(client, admin, invoice_number=None))["invoice_number"] == "INV-0006"


async def test_an_update_without_a_number_keeps_the_number(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await _create(client, admin)
    for sent in (None, "", "  "):
        kept = await _changed(client, admin, created["id"], invoice_number=sent)
        assert kept["invoice_number"] == created["invoice_number"]
    assert (await _create(client, admin))["invoice_number"] == "INV-0002"


async def test_numbers_are_drawn_in_order_and_each_org_has_its_own_sequence(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    numbers = [(await _create(client, admin))["invoice_number"] for _ in range(5)]
    assert numbers == ["INV-0001", "INV-0002", "INV-0003", "INV-0004", "INV-0005"]
    other = await factory.admin()
    assert (await _create(client, other))["invoice_number"] == "INV-0001"
    assert (await _create(client, admin))["invoice_number"] == "INV-0006"
    assert _numbers(await _list(client, admin, limit=3)) == ["INV-0006", "INV-0005", "INV-0004"]


async def test_numbers_past_9999_get_more_digits(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            await session.execute(
                update(Org)
                .where(Org.id == uuid.UUID(admin.org_id))
                .values(next_invoice_number=9999)
            )
        await session.commit()
    assert (await _create(client, admin))["invoice_number"] == "INV-9999"
    assert (await _create(client, admin))["invoice_number"] == "INV-10000"


# -- accounts ----------------------------------------------------------------------------------


async def test_unknown_foreign_or_hidden_accounts_are_refused(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    user = await factory.member_of(admin)
    mine = await _account(client, admin, "Mine")
    foreign = await _account(client, await factory.admin(), "Theirs")
    missing = str(uuid.uuid4())
    before = await checksum(test_database)
    for bad in (foreign, missing):
        response = await _post(client, admin, accounts=[mine, bad])
        assert _code(response, "accounts") == "unknown_accounts"
        assert response.json()["errors"]["accounts"] == [
            f"No such accounts in this organization: {bad}"
        ]
    assert _field_error(await _post(client, admin, accounts=["acme"]), "accounts")
    # An account of the org the member cannot see.
    response = await _post(client, user, accounts=[mine])
    assert _code(response, "accounts") == "unknown_accounts"
    assert await checksum(test_database) == before
    shared = await _account(client, admin, "Shared", assigned_to=[user.profile_id])
    assert (await _create(client, user, accounts=[shared]))["accounts"] == [shared]


async def test_accounts_are_replaced_when_sent(client: httpx.AsyncClient, admin: Member) -> None:
    acme = await _account(client, admin, "ACME")
    globex = await _account(client, admin, "Globex")
    initech = await _account(client, admin, "Initech")
    created = await _create(client, admin, accounts=[acme, globex, acme])
    assert created["accounts"] == [acme, globex]  # a repeated id counts once
    replaced = await _changed(client, admin, created["id"], accounts=[initech])
    assert replaced["accounts"] == [initech]
    kept = await _changed(client, admin, created["id"], accounts=None, details="x")
    assert kept["accounts"] == [initech]
    assert (await _detail(client, admin, created["id"]))["accounts"] == [
        {"id": initech, "name": "Initech"}
    ]
    cleared = await _changed(client, admin, created["id"], method="PUT", accounts=[])
    assert cleared["accounts"] == []
    assert (await _detail(client, admin, created["id"]))["accounts"] == []


# -- update ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_partial_update_changes_only_what_is_sent(
    client: httpx.AsyncClient, factory: Factory, admin: Member, method: str
) -> None:
    agent = await factory.member_of(admin)
    other_agent = await factory.member_of(admin)
    team = await _team(client, admin, "Billing")
    created = await _create(
        client,
        admin,
        status="Sent",
        phone="+1 415 555 0100",
        due_date="2025-04-30",
        details="first",
        line_items=[LINE],
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["vip"],
        to_address={"city": "Leeds"},
    )
    changed = await _changed(client, admin, created["id"], method, status="pending")
    unchanged = {k: v for k, v in created.items() if k not in ("status", "updated_at")}
    assert {k: v for k, v in changed.items() if k in unchanged} == unchanged
    assert changed["status"] == "Pending"

    nulls = await _changed(
        client,
        admin,
        created["id"],
        method,
        invoice_title=None,
        name=None,
        email=None,
        status=None,
        currency=None,
        line_items=None,
        phone=None,
        due_date=None,
        details=None,
    )
    assert (nulls["invoice_title"], nulls["name"], nulls["email"]) == (
        created["invoice_title"],
        created["name"],
        created["email"],
    )
    assert (nulls["status"], nulls["currency"], nulls["total_amount"]) == (
        "Pending",
        "USD",
        LINE_TOTAL,
    )
    assert nulls["line_items"] == created["line_items"]
    assert (nulls["phone"], nulls["due_date"], nulls["details"]) == (None, None, None)

    renamed = await _changed(
        client,
        admin,
        created["id"],
        method,
        invoice_title="Renamed",
        name="John Customer",
        email="john@example.com",
        assigned_to=[other_agent.profile_id],
        tags=[],
    )
    assert (renamed["invoice_title"], renamed["name"], renamed["email"]) == (
        "Renamed",
        "John Customer",
        "john@example.com",
    )
    assert (renamed["assigned_to"], renamed["tags"], renamed["teams"]) == (
        [other_agent.profile_id],
        [],
        [team],
    )
    assert renamed["invoice_number"] == created["invoice_number"]
    assert renamed["to_address"] == {**NO_ADDRESS, "city": "Leeds"}
    detail = await _detail(client, admin, created["id"])
    assert detail["invoice_obj"] == renamed


async def test_sent_line_items_replace_all_lines(client: httpx.AsyncClient, admin: Member) -> None:
    created = await _create(client, admin, line_items=[LINE, {"rate": "5"}])
    assert created["total_amount"] == "69.76"
    replaced = await _changed(
        client, admin, created["id"], line_items=[{"description": "Only", "rate": "7.5"}]
    )
    assert [line["description"] for line in replaced["line_items"]] == ["Only"]
    assert replaced["line_items"][0]["id"] not in {line["id"] for line in created["line_items"]}
    assert _amounts(replaced) == ("7.50", "0.00", "0.00", "7.50")
    # No lines left and no legacy line: nothing is billed until a total is sent.
    emptied = await _changed(client, admin, created["id"], line_items=[])
    assert emptied["line_items"] == []
    assert _amounts(emptied) == ("0.00", "0.00", "0.00", "0.00")
    summed = await _changed(client, admin, created["id"], line_items=[], total_amount="7.5")
    assert _amounts(summed) == ("7.50", "0.00", "0.00", "7.50")
    # The legacy single line totals an invoice without lines (2 x 4.25 = 8.50 + 10% = 9.35).
    legacy = await _changed(
        client, admin, created["id"], line_items=[], quantity=2, rate="4.25", tax="10"
    )
    assert legacy["line_items"] == []
    assert _amounts(legacy) == ("8.50", "0.00", "0.85", "9.35")
    # Neither lines nor a rate: a lump sum, as sent.
    lump = await _changed(client, admin, created["id"], quantity=None, rate=None, total_amount="42")
    assert _amounts(lump) == ("42.00", "0.00", "0.00", "42.00")
    relined = await _changed(client, admin, created["id"], method="PUT", line_items=[LINE])
    assert (relined["total_amount"], relined["amount_due"]) == (LINE_TOTAL, LINE_TOTAL)
    assert (await _detail(client, admin, created["id"]))["invoice_obj"]["line_items"] == relined[
        "line_items"
    ]


async def test_a_sent_address_replaces_the_whole_address(
    client: httpx.AsyncClient, admin: Member
) -> None:
    full = {
        "address_line": "Suite 9",
        "street": "22 Client Road",
        "city": "Leeds",
        "state": "West Yorkshire",
        "postcode": "LS1 4AP",
        "country": "GB",
    }
    created = await _create(client, admin, to_address=full, from_city="London")
    assert created["to_address"] == full
    assert created["from_address"] == {**NO_ADDRESS, "city": "London"}
    moved = await _changed(client, admin, created["id"], to_address={"city": "York"})
    assert moved["to_address"] == {**NO_ADDRESS, "city": "York"}
    assert moved["from_address"] == {**NO_ADDRESS, "city": "London"}
    flat = await _changed(client, admin, created["id"], to_street="1 Main St", to_country="IE")
    assert flat["to_address"] == {**NO_ADDRESS, "street": "1 Main St", "country": "IE"}
    # The nested form wins over the flat keys when both are sent.
    both = await _changed(
        client, admin, created["id"], from_address={"country": "FR"}, from_city="Paris"
    )
    assert both["from_address"] == {**NO_ADDRESS, "country": "FR"}
    cleared = await _changed(client, admin, created["id"], method="PUT", to_address=None)
    assert cleared["to_address"] == NO_ADDRESS
    assert cleared["from_address"] == {**NO_ADDRESS, "country": "FR"}
    assert (await _detail(client, admin, created["id"]))["invoice_obj"]["to_address"] == (
        NO_ADDRESS
    )


async def test_update_validates_like_create(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    invoice_id = (await _create(client, admin, line_items=[LINE]))["id"]
    before = await checksum(test_database)
    invalid: list[tuple[str, Any]] = [
        ("status", "Overdue"),
        ("currency", "usdollar"),
        ("invoice_title", "  "),
        ("invoice_title", "y" * 51),
        ("name", ""),
        ("email", "nope"),
        ("due_date", "2023-02-30"),
        ("accounts", [str(uuid.uuid4())]),
        ("line_items", [{"rate": "-1"}]),
        ("line_items", [{"quantity": "99999999", "rate": "9999999999"}]),
        ("line_items", [{"rate": "1"}] * 501),
        ("tax", "100.5"),
        ("amount_paid", "-1"),
    ]
    for field, value in invalid:
        assert _field_error(await _change(client, admin, invoice_id, **{field: value}), field)
    assert await checksum(test_database) == before


# -- list --------------------------------------------------------------------------------------


async def test_list_envelope_newest_first_and_pagination(
    client: httpx.AsyncClient, admin: Member
) -> None:
    empty = await _list(client, admin, limit=2)
    assert (empty["count"], empty["results"]) == (0, [])
    for n in range(5):
        await _create(client, admin, invoice_title=f"Invoice {n}", line_items=[LINE])
    page = await _list(client, admin, limit=2)  # the same URL: not answered from the cache
    assert set(page) == LIST_KEYS
    assert page["count"] == 5
    assert _titles(page) == ["Invoice 4", "Invoice 3"]
    assert set(page["results"][0]) == ITEM_KEYS
    assert page["results"][0]["total_amount"] == LINE_TOTAL
    assert page["previous"] is None
    assert page["next"] == "/api/invoices/?limit=2&offset=2"
    last = await _list(client, admin, limit=2, offset=4)
    assert (_titles(last), _numbers(last)) == (["Invoice 0"], ["INV-0001"])
    assert last["next"] is None
    assert last["previous"] == "/api/invoices/?limit=2&offset=2"
    assert page["status"] == STATUSES
    assert (await _list(client, admin, limit=2, offset=9))["results"] == []


async def test_list_reflects_updates_and_deletes(client: httpx.AsyncClient, admin: Member) -> None:
    first = await _create(client, admin, invoice_title="Before")
    second = await _create(client, admin, invoice_title="Doomed")
    assert _titles(await _list(client, admin)) == ["Doomed", "Before"]
    await _changed(client, admin, first["id"], invoice_title="After", total_amount="12")
    deleted = await client.delete(f"/api/invoices/{second['id']}/", headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    page = await _list(client, admin)  # the same URL again: the cache was dropped
    assert (_titles(page), page["count"]) == (["After"], 1)
    assert page["results"][0]["total_amount"] == "12.00"


async def test_list_lookups(client: httpx.AsyncClient, factory: Factory, admin: Member) -> None:
    member = await factory.member_of(admin)
    account = await _account(client, admin, "ACME")
    contact = await _contact(client, admin, "Grace", "Hopper")
    team = await _team(client, admin, "Billing")
    page = await _list(client, admin)
    assert page["accounts_list"] == [{"id": account, "name": "ACME"}]
    assert page["contacts_list"] == [{"id": contact, "first_name": "Grace", "last_name": "Hopper"}]
    assert {u["id"]: u["email"] for u in page["users"]} == {
        admin.profile_id: admin.email,
        member.profile_id: member.email,
    }
    assert page["teams"] == [{"id": team, "name": "Billing"}]
    assert page["status"] == STATUSES


async def test_filter_by_customer_name_and_by_title_or_number(
    client: httpx.AsyncClient, admin: Member
) -> None:
    await _create(client, admin, invoice_title="Printer toner", name="ACME Printing Ltd")
    await _create(
        client, admin, invoice_title="VPN licence", name="Globex", invoice_number="GX-100%"
    )
    await _create(client, admin, invoice_title="Support_plan", name="Initech")
    assert _titles(await _list(client, admin, name="printing")) == ["Printer toner"]
    assert _titles(await _list(client, admin, name="GLOB")) == ["VPN licence"]
    assert _titles(await _list(client, admin, name="toner")) == []  # the customer, not the title
    assert _titles(await _list(client, admin, invoice_title_or_number="TONER")) == ["Printer toner"]
    assert _titles(await _list(client, admin, invoice_title_or_number="gx-1")) == ["VPN licence"]
    assert _titles(await _list(client, admin, invoice_title_or_number="%")) == ["VPN licence"]
    assert _titles(await _list(client, admin, invoice_title_or_number="_")) == ["Support_plan"]
    by_number = await _list(client, admin, invoice_title_or_number="inv-000")
    assert sorted(_titles(by_number)) == ["Printer toner", "Support_plan"]
    assert _titles(await _list(client, admin, invoice_title_or_number="nothing")) == []


async def test_filter_by_status_and_currency(client: httpx.AsyncClient, admin: Member) -> None:
    await _create(client, admin, invoice_title="Draft one")
    await _create(client, admin, invoice_title="Sent yen", status="Sent", currency="JPY")
    await _create(client, admin, invoice_title="Paid euro", status="Paid", currency="EUR")
    assert _titles(await _list(client, admin, status="sent")) == ["Sent yen"]
    assert _titles(await _list(client, admin, status="PAID")) == ["Paid euro"]
    assert _titles(await _list(client, admin, status="Draft")) == ["Draft one"]
    assert _titles(await _list(client, admin, status="cancelled")) == []
    assert _titles(await _list(client, admin, currency="jpy")) == ["Sent yen"]
    assert _titles(await _list(client, admin, currency="USD")) == ["Draft one"]
    assert _titles(await _list(client, admin, currency="EUR", status="Sent")) == []
    for params in ({"status": "Overdue"}, {"currency": "usdollar"}, {"currency": "US"}):
        response = await client.get("/api/invoices/", params=params, headers=admin.headers)
        assert _field_error(response, next(iter(params))), params


async def test_filter_by_total_amount_is_exact(client: httpx.AsyncClient, admin: Member) -> None:
    await _create(client, admin, invoice_title="Lines", line_items=[LINE])
    await _create(client, admin, invoice_title="Lump", total_amount="64.7")
    await _create(client, admin, invoice_title="Yen", currency="JPY", total_amount="65")
    assert _titles(await _list(client, admin, total_amount="64.76")) == ["Lines"]
    assert _titles(await _list(client, admin, total_amount="64.760")) == ["Lines"]
    assert _titles(await _list(client, admin, total_amount="64.70")) == ["Lump"]
    assert _titles(await _list(client, admin, total_amount="65")) == ["Yen"]
    assert _titles(await _list(client, admin, total_amount="64")) == []
    for bad in ("a lot", "-1"):
        response = await client.get(
            "/api/invoices/", params={"total_amount": bad}, headers=admin.headers
        )
        assert _field_error(response, "total_amount"), bad


async def test_filter_by_account_assignee_creator_and_tags(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    agent = await factory.member_of(admin, role="ADMIN")
    acme = await _account(client, admin, "ACME")
    globex = await _account(client, admin, "Globex")
    await _create(client, admin, invoice_title="Both accounts", accounts=[acme, globex])
    await _create(client, admin, invoice_title="Globex only", accounts=[globex], tags=["Q1"])
    await _create(client, agent, invoice_title="By agent", assigned_to=[agent.profile_id])
    await _create(client, admin, invoice_title="Assigned", assigned_to=[agent.profile_id])
    await _create(client, admin, invoice_title="Tagged", tags=["q1", "web"])
    assert _titles(await _list(client, admin, account=acme)) == ["Both accounts"]
    assert sorted(_titles(await _list(client, admin, account=globex))) == [
        "Both accounts",
        "Globex only",
    ]
    assert sorted(_titles(await _list(client, admin, account=f"{acme},{globex}"))) == [
        "Both accounts",
        "Globex only",
    ]
    assert _titles(await _list(client, admin, account=str(uuid.uuid4()))) == []
    assert sorted(_titles(await _list(client, admin, assigned_to=agent.profile_id))) == [
        "Assigned",
        "By agent",
    ]
    assert _titles(await _list(client, admin, created_by=agent.profile_id)) == ["By agent"]
    assert len(_titles(await _list(client, admin, created_by=admin.profile_id))) == 4
    assert sorted(_titles(await _list(client, admin, tags="q1"))) == ["Globex only", "Tagged"]
    assert _titles(await _list(client, admin, tags="WEB,nothing")) == ["Tagged"]
    combined = await _list(client, admin, tags="q1", account=globex)
    assert (_titles(combined), combined["count"]) == (["Globex only"], 1)
    for name in ("account", "assigned_to", "created_by"):
        response = await client.get("/api/invoices/", params={name: "me"}, headers=admin.headers)
        assert _field_error(response, name), name


async def test_list_statement_count_does_not_grow_with_the_page(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    agents = [await factory.member_of(admin) for _ in range(3)]
    team = await _team(client, admin, "Billing")
    accounts = [await _account(client, admin, f"Account {n}") for n in range(3)]
    for n in range(8):
        await _create(
            client,
            admin,
            invoice_title=f"Invoice {n}",
            accounts=accounts[: n % 3 + 1],
            assigned_to=[a.profile_id for a in agents[: n % 3 + 1]],
            teams=[team],
            tags=[f"t{n}", "shared"],
            line_items=[LINE, LINE],
        )

    async def statements(limit: int) -> int:
        with count_statements(test_database.engine) as counter:
            page = await _list(client, admin, limit=limit)
        assert len(page["results"]) == min(limit, 8)
        assert all(item["accounts"] and item["assigned_to"] for item in page["results"])
        return counter.count

    assert await statements(2) == await statements(100)


# -- visibility and permissions (§1.3) ---------------------------------------------------------


async def test_users_see_only_invoices_they_created_or_are_assigned(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    hidden = await _create(client, admin, invoice_title="Hidden")
    assigned = await _create(client, admin, invoice_title="Assigned", assigned_to=[user.profile_id])
    own = await _create(client, user, invoice_title="Own")
    page = await _list(client, user)
    assert sorted(_titles(page)) == ["Assigned", "Own"]
    assert page["count"] == 2
    assert (await _list(client, admin))["count"] == 3
    assert (await _detail(client, user, assigned["id"]))["invoice_obj"]["invoice_title"] == (
        "Assigned"
    )
    assert (await _detail(client, user, own["id"]))["invoice_obj"]["invoice_title"] == "Own"
    for url in (f"/api/invoices/{hidden['id']}/", f"/api/invoices/{hidden['id']}/pdf/"):
        response = await client.get(url, headers=user.headers)
        assert (response.status_code, response.json()) == (403, DENIED), url
    assert _titles(await _list(client, user, invoice_title_or_number="hidden")) == []


async def test_assignee_may_update_but_only_the_creator_or_an_admin_deletes(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    creator = await factory.member_of(admin)
    assignee = await factory.member_of(admin)
    created = await _create(client, creator, assigned_to=[assignee.profile_id])
    by_assignee = await _changed(client, assignee, created["id"], status="Sent")
    assert by_assignee["status"] == "Sent"
    by_creator = await _changed(client, creator, created["id"], method="PUT", total_amount="9")
    assert (by_creator["status"], by_creator["total_amount"]) == ("Sent", "9.00")
    by_admin = await _changed(client, admin, created["id"], due_date="2025-06-30")
    assert by_admin["due_date"] == "2025-06-30"
    pdf = await client.get(f"/api/invoices/{created['id']}/pdf/", headers=assignee.headers)
    assert pdf.status_code == 200, pdf.text

    before = await checksum(test_database)
    response = await client.delete(f"/api/invoices/{created['id']}/", headers=assignee.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before
    response = await client.delete(f"/api/invoices/{created['id']}/", headers=creator.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    by_admin_id = (await _create(client, creator))["id"]
    response = await client.delete(f"/api/invoices/{by_admin_id}/", headers=admin.headers)
    assert response.status_code == 204, response.text
    gone = await client.get(f"/api/invoices/{by_admin_id}/", headers=admin.headers)
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    assert (await _list(client, admin))["count"] == 0


async def test_a_member_neither_creator_nor_assignee_may_not_update_or_delete(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    user = await factory.member_of(admin)
    colleague = await factory.member_of(admin)
    by_admin = await _create(client, admin)
    by_colleague = await _create(client, colleague, assigned_to=[admin.profile_id])
    before = await checksum(test_database)
    for invoice in (by_admin, by_colleague):
        for method in ("PUT", "PATCH"):
            response = await _change(client, user, invoice["id"], method, invoice_title="Mine")
            assert (response.status_code, response.json()) == (403, DENIED), method
            response = await _change(
                client, user, invoice["id"], method, assigned_to=[user.profile_id]
            )
            assert (response.status_code, response.json()) == (403, DENIED), method
        response = await client.delete(f"/api/invoices/{invoice['id']}/", headers=user.headers)
        assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before


async def test_another_org_gets_404_for_every_method(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    created = await _create(client, admin, invoice_title="Ours")
    intruder = await factory.admin()
    before = await checksum(test_database)
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/api/invoices/{created['id']}/",
            json={"invoice_title": "Stolen"} if method in ("PUT", "PATCH") else None,
            headers=intruder.headers,
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND), method
    response = await client.get(f"/api/invoices/{created['id']}/pdf/", headers=intruder.headers)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    response = await client.post(
        f"/api/invoices/{created['id']}/", json={"comment": "hi"}, headers=intruder.headers
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert await checksum(test_database) == before
    assert (await _list(client, intruder))["count"] == 0


async def test_unknown_or_malformed_ids_are_404(client: httpx.AsyncClient, admin: Member) -> None:
    for invoice_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = await client.request(
                method,
                f"/api/invoices/{invoice_id}/",
                json={"invoice_title": "x"} if method in ("PUT", "PATCH") else None,
                headers=admin.headers,
            )
            assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, invoice_id)
        response = await client.get(f"/api/invoices/{invoice_id}/pdf/", headers=admin.headers)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), invoice_id


# -- detail ------------------------------------------------------------------------------------


async def test_detail_shape(client: httpx.AsyncClient, factory: Factory, admin: Member) -> None:
    agent = await factory.member_of(admin)
    account = await _account(client, admin, "ACME Corporation")
    team = await _team(client, admin, "Billing")
    created = await _create(
        client,
        admin,
        accounts=[account],
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["web", "q1"],
        line_items=[LINE],
    )
    detail = await _detail(client, admin, created["id"])
    assert set(detail) == DETAIL_KEYS
    assert detail["invoice_obj"] == created
    assert set(detail["invoice_obj"]["line_items"][0]) == LINE_KEYS
    assert detail["accounts"] == [{"id": account, "name": "ACME Corporation"}]
    assert [m["id"] for m in detail["assigned_to"]] == [agent.profile_id]
    assert set(detail["assigned_to"][0]) == MEMBER_BRIEF_KEYS
    assert detail["assigned_to"][0]["email"] == agent.email
    assert detail["teams"] == [{"id": team, "name": "Billing"}]
    assert sorted(detail["tags"]) == ["q1", "web"]
    assert (detail["comments"], detail["attachments"]) == ([], [])
    assert detail["comment_permission"] is True
    assert {m["user__email"] for m in detail["users_mention"]} == {admin.email, agent.email}
    assert detail["status"] == STATUSES

    seen_by_agent = await _detail(client, agent, created["id"])
    assert seen_by_agent["comment_permission"] is False
    assert seen_by_agent["invoice_obj"] == created


# -- PDF ---------------------------------------------------------------------------------------


async def test_the_pdf_is_a_download_named_after_the_number(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await _create(
        client,
        admin,
        invoice_title="Website redesign",
        name="Jane Customer",
        email="jane@example.com",
        line_items=[LINE],
    )
    assert created["invoice_number"] == "INV-0001"
    response = await client.get(f"/api/invoices/{created['id']}/pdf/", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"INV-0001.pdf\"; filename*=UTF-8''INV-0001.pdf"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert int(response.headers["content-length"]) == len(response.content)
    text = await _pdf_text(client, admin, created["id"])
    for expected in ("Website redesign", "INV-0001", "Jane Customer", "Widgets", "64.76 USD"):
        assert expected in text, expected


async def test_the_pdf_follows_changes_and_prints_the_legacy_line(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await _create(client, admin, invoice_title="Consulting", quality_hours=8, rate="150")
    renamed = await _changed(
        client, admin, created["id"], invoice_number="ACME-2025-7", name="John Client"
    )
    response = await client.get(f"/api/invoices/{created['id']}/pdf/", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert "ACME-2025-7.pdf" in response.headers["content-disposition"]
    text = await _pdf_text(client, admin, created["id"])
    # 8 x 150 = 1200.00, printed with thousands separated.
    assert renamed["total_amount"] == "1200.00"
    for expected in ("ACME-2025-7", "John Client", "1,200.00 USD"):
        assert expected in text, expected
    assert "Jane Customer" not in text


# -- comments and attachments (activity routes) ------------------------------------------------


async def test_comments_and_attachments_appear_in_the_detail(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    assignee = await factory.member_of(admin)
    outsider = await factory.member_of(admin)
    invoice_id = (await _create(client, admin, assigned_to=[assignee.profile_id]))["id"]
    url = f"/api/invoices/{invoice_id}/"
    added = await client.post(url, json={"comment": "Sent to AP"}, headers=admin.headers)
    assert added.status_code == 201, added.text
    comment = added.json()["comment"]
    assert (comment["comment"], comment["invoice"]) == ("Sent to AP", invoice_id)
    assert comment["commented_by"] == admin.profile_id
    uploaded = await client.post(
        url,
        data={"comment": "remittance attached"},
        files={"invoice_attachment": ("remit.txt", b"paid 64.76", "text/plain")},
        headers=assignee.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()["attachment"]
    assert (attachment["file_name"], attachment["invoice"]) == ("remit.txt", invoice_id)
    assert attachment["attachment"] == f"/api/invoices/attachment/{attachment['id']}/"

    detail = await _detail(client, admin, invoice_id)
    assert [c["comment"] for c in detail["comments"]] == ["remittance attached", "Sent to AP"]
    assert {c["invoice"] for c in detail["comments"]} == {invoice_id}
    assert [a["id"] for a in detail["attachments"]] == [attachment["id"]]
    download = await client.get(attachment["attachment"], headers=admin.headers)
    assert (download.status_code, download.content) == (200, b"paid 64.76")

    edited = await client.put(
        f"/api/invoices/comment/{comment['id']}/",
        json={"comment": "Sent twice"},
        headers=admin.headers,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["comment"], edited.json()["invoice"]) == ("Sent twice", invoice_id)

    before = await checksum(test_database)
    response = await client.post(url, json={"comment": "sneaky"}, headers=outsider.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    response = await client.get(attachment["attachment"], headers=outsider.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before

    comment_url = f"/api/invoices/comment/{comment['id']}/"
    assert (await client.delete(comment_url, headers=admin.headers)).status_code == 204
    deleted = await client.delete(attachment["attachment"], headers=assignee.headers)
    assert deleted.status_code == 204, deleted.text
    detail = await _detail(client, admin, invoice_id)
    assert [c["comment"] for c in detail["comments"]] == ["remittance attached"]
    assert detail["attachments"] == []
    gone = await client.get(attachment["attachment"], headers=admin.headers)
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)


async def test_deleting_an_invoice_removes_its_comments_and_attachments(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    account = await _account(client, admin, "ACME")
    team = await _team(client, admin, "Billing")
    before = await _invoice_rows(test_database)
    created = await _create(
        client, admin, accounts=[account], teams=[team], tags=["q1"], line_items=[LINE, LINE]
    )
    invoice_id = created["id"]
    url = f"/api/invoices/{invoice_id}/"
    added = await client.post(
        url,
        data={"comment": "see file"},
        files={"attachment": ("notes.txt", b"notes", "text/plain")},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    comment_id = added.json()["comment"]["id"]
    download = added.json()["attachment"]["attachment"]
    assert (await client.get(download, headers=admin.headers)).status_code == 200
    assert await _invoice_rows(test_database) == {
        name: count + (2 if name == "invoice_lines" else 1) for name, count in before.items()
    }

    assert (await client.delete(url, headers=admin.headers)).status_code == 204

    gone = await client.get(url, headers=admin.headers)
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    edit = await client.put(
        f"/api/invoices/comment/{comment_id}/",
        json={"comment": "still here?"},
        headers=admin.headers,
    )
    assert (edit.status_code, edit.json()) == (404, NOT_FOUND)
    assert (await client.get(download, headers=admin.headers)).status_code == 404
    # Its lines, links, comment and attachment rows are all gone.
    assert await _invoice_rows(test_database) == before


# -- invoices on the account detail ------------------------------------------------------------


async def test_account_detail_lists_the_visible_invoices_of_the_account(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    account = await _account(client, admin, "ACME", assigned_to=[user.profile_id])
    other_account = await _account(client, admin, "Globex")
    shared = await _create(
        client, admin, invoice_title="Shared", accounts=[account], assigned_to=[user.profile_id]
    )
    hidden = await _create(client, admin, invoice_title="Hidden", accounts=[account, other_account])
    own = await _create(client, user, invoice_title="Own", accounts=[account])
    await _create(client, admin, invoice_title="Elsewhere", accounts=[other_account])
    await _create(client, admin, invoice_title="Unlinked")

    async def invoices_on(member: Member) -> list[dict[str, Any]]:
        response = await client.get(f"/api/accounts/{account}/", headers=member.headers)
        assert response.status_code == 200, response.text
        return list(response.json()["invoices"])

    as_admin = await invoices_on(admin)
    assert [i["invoice_title"] for i in as_admin] == ["Own", "Hidden", "Shared"]  # newest first
    assert set(as_admin[0]) == ITEM_KEYS
    assert all(account in i["accounts"] for i in as_admin)
    listed_hidden = next(i for i in as_admin if i["id"] == hidden["id"])
    assert listed_hidden == {k: v for k, v in hidden.items() if k != "line_items"}
    as_user = await invoices_on(user)
    assert [i["id"] for i in as_user] == [own["id"], shared["id"]]


async def test_deleting_an_account_keeps_its_invoices_unlinked(
    client: httpx.AsyncClient, admin: Member
) -> None:
    doomed = await _account(client, admin, "Doomed")
    kept = await _account(client, admin, "Kept")
    created = await _create(
        client, admin, invoice_title="Survivor", accounts=[doomed], line_items=[LINE]
    )
    both = await _create(client, admin, invoice_title="Half linked", accounts=[doomed, kept])
    assert len((await _list(client, admin))["results"]) == 2  # cached until the org changes
    deleted = await client.delete(f"/api/accounts/{doomed}/", headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    detail = await _detail(client, admin, created["id"])
    assert (detail["invoice_obj"]["accounts"], detail["accounts"]) == ([], [])
    assert (detail["invoice_obj"]["invoice_title"], detail["invoice_obj"]["total_amount"]) == (
        "Survivor",
        LINE_TOTAL,
    )
    assert (await _detail(client, admin, both["id"]))["accounts"] == [{"id": kept, "name": "Kept"}]
    page = await _list(client, admin)
    assert [(i["invoice_title"], i["accounts"]) for i in page["results"]] == [
        ("Half linked", [kept]),
        ("Survivor", []),
    ]
    assert _titles(await _list(client, admin, account=doomed)) == []
