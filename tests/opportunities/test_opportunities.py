"""Opportunities (§8) through the HTTP API: stages and their default probabilities, money and
currency, dates, closing, accounts and contacts, uniqueness, list filters and forecast,
detail, partial updates, visibility, permissions and isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from crm.core.clock import today
from crm.core.config import Settings
from crm.core.db import Database
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.opportunities.rows import insert_account, insert_contact
from tests.shapes import DENIED, MEMBER_BRIEF_KEYS, NOT_FOUND

ITEM_KEYS = {
    "id",
    "name",
    "account",
    "account_id",
    "stage",
    "amount",
    "currency",
    "probability",
    "expected_close_date",
    "actual_close_date",
    "closed_by",
    "lead_source",
    "description",
    "is_active",
    "org",
    "created_on",
    "created_at",
    "updated_at",
    "created_by",
    "assigned_to",
    "teams",
    "tags",
    "contacts",
}
OBJ_KEYS = ITEM_KEYS - {"account_id", "assigned_to", "teams", "tags", "contacts"}
DETAIL_KEYS = {
    "opportunity_obj",
    "account_obj",
    "contacts",
    "assigned_to",
    "teams",
    "tags",
    "comments",
    "attachments",
    "users_mention",
    "comment_permission",
}
LIST_KEYS = {
    "count",
    "next",
    "previous",
    "results",
    "forecast",
    "accounts_list",
    "contacts_list",
    "users",
    "teams",
    "stages",
}
# The documented default probability of every accepted stage (docs and Django-CRM spellings).
STAGE_DEFAULTS = {
    "PROSPECTING": 5,
    "QUALIFICATION": 10,
    "NEEDS ANALYSIS": 20,
    "VALUE PROPOSITION": 30,
    "ID.DECISION MAKERS": 40,
    "PERCEPTION ANALYSIS": 50,
    "PROPOSAL/QUOTATION": 60,
    "PROPOSAL/PRICE QUOTE": 60,
    "NEGOTIATION/REVIEW": 80,
    "CLOSED WON": 100,
    "CLOSED LOST": 0,
}


async def _post(client: httpx.AsyncClient, member: Member, **body: Any) -> httpx.Response:
    return await client.post("/api/opportunities/", json=body, headers=member.headers)


async def _create(
    client: httpx.AsyncClient, member: Member, account: str, **body: Any
) -> dict[str, Any]:
    body.setdefault("name", f"Deal {uuid.uuid4().hex[:8]}")
    response = await _post(client, member, account=account, **body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _change(
    client: httpx.AsyncClient,
    member: Member,
    opportunity_id: str,
    method: str = "PATCH",
    **body: Any,
) -> httpx.Response:
    return await client.request(
        method, f"/api/opportunities/{opportunity_id}/", json=body, headers=member.headers
    )


async def _changed(
    client: httpx.AsyncClient, member: Member, opportunity_id: str, **body: Any
) -> dict[str, Any]:
    response = await _change(client, member, opportunity_id, **body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _detail(client: httpx.AsyncClient, member: Member, opportunity_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/opportunities/{opportunity_id}/", headers=member.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _list(client: httpx.AsyncClient, member: Member, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/opportunities/", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _field_error(response: httpx.Response, field: str) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] is True
    assert field in body["errors"], body
    return list(body["errors"][field])


def _names(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["results"]]


@pytest.fixture
async def admin(factory: Factory) -> Member:
    return await factory.admin()


@pytest.fixture
async def account(admin: Member, test_database: Database) -> str:
    return await insert_account(test_database, admin, "ACME Corporation")


# -- create: defaults, stages, probability ---------------------------------------------------


async def test_create_minimal_gets_the_documented_defaults(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    created = await _create(client, admin, account, name="Enterprise Software Deal")
    assert set(created) == ITEM_KEYS
    assert created["name"] == "Enterprise Software Deal"
    assert created["account"] == "ACME Corporation"
    assert created["account_id"] == account
    assert created["stage"] == "QUALIFICATION"
    assert created["probability"] == 10
    assert created["currency"] == "USD"
    assert created["amount"] is None
    assert created["expected_close_date"] is None
    assert created["actual_close_date"] is None
    assert created["closed_by"] is None
    assert created["is_active"] is False
    assert created["created_by"] == admin.profile_id
    assert created["org"] == admin.org_id
    assert created["created_at"] == created["created_on"]
    assert (created["assigned_to"], created["teams"], created["tags"], created["contacts"]) == (
        [],
        [],
        [],
        [],
    )


async def test_create_with_the_documented_example_body(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    seller = await factory.member_of(admin)
    team = await client.post("/api/teams/", json={"name": "Sales"}, headers=admin.headers)
    assert team.status_code == 201, team.text
    contacts = [await insert_contact(test_database, admin) for _ in range(2)]
    created = await _create(
        client,
        admin,
        account,
        name="Q1 Software License Deal",
        stage="NEEDS ANALYSIS",
        amount="125000.00",
        currency="USD",
        probability=40,
        expected_close_date="2023-04-30",
        lead_source="Referral",
        description="Annual software licensing opportunity",
        contacts=contacts,
        assigned_to=[seller.profile_id],
        teams=[team.json()["id"]],
        tags=["software", "annual-contract"],
    )
    assert created["stage"] == "NEEDS ANALYSIS"
    assert created["probability"] == 40  # sent: wins over the stage's 20
    assert created["amount"] == "125000.00"
    assert created["expected_close_date"] == "2023-04-30"
    assert created["lead_source"] == "Referral"
    assert created["description"] == "Annual software licensing opportunity"
    assert created["contacts"] == contacts
    assert created["assigned_to"] == [seller.profile_id]
    assert created["teams"] == [team.json()["id"]]
    assert sorted(created["tags"]) == ["annual-contract", "software"]


@pytest.mark.parametrize("stage", sorted(STAGE_DEFAULTS))
async def test_every_stage_of_the_union_is_accepted_in_any_case(
    client: httpx.AsyncClient, admin: Member, account: str, stage: str
) -> None:
    typed = "  " + stage.lower().replace(" ", "   ") + " "
    created = await _create(client, admin, account, stage=typed)
    assert created["stage"] == stage
    assert created["probability"] == STAGE_DEFAULTS[stage]


async def test_stage_list_in_the_list_response_is_the_union(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    page = await _list(client, admin)
    assert sorted(page["stages"]) == sorted(STAGE_DEFAULTS)


@pytest.mark.parametrize("stage", ["PROSPECT", "closed", "CLOSED_WON", "", 3])
async def test_unknown_stages_are_refused(
    client: httpx.AsyncClient, admin: Member, account: str, stage: Any, test_database: Database
) -> None:
    before = await checksum(test_database)
    response = await _post(client, admin, name="Deal", account=account, stage=stage)
    assert _field_error(response, "stage")
    assert await checksum(test_database) == before


@pytest.mark.parametrize("probability", [0, 100, 55])
async def test_explicit_probability_wins_over_the_stage(
    client: httpx.AsyncClient, admin: Member, account: str, probability: int
) -> None:
    created = await _create(client, admin, account, stage="CLOSED WON", probability=probability)
    assert created["probability"] == probability


@pytest.mark.parametrize("probability", [-1, 101, 1000, "high", 12.5])
async def test_probability_outside_0_to_100_is_refused(
    client: httpx.AsyncClient, admin: Member, account: str, probability: Any
) -> None:
    response = await _post(client, admin, name="Deal", account=account, probability=probability)
    assert _field_error(response, "probability")


# -- money, currency, dates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("75000.00", "75000.00"),
        ("75000", "75000.00"),
        (1234.5, "1234.50"),
        (0, "0.00"),
        ("0.1", "0.10"),
        ("9999999999.99", "9999999999.99"),
        (None, None),
    ],
)
async def test_amount_is_a_decimal_string_with_two_places(
    client: httpx.AsyncClient, admin: Member, account: str, sent: Any, shown: str | None
) -> None:
    created = await _create(client, admin, account, amount=sent)
    assert created["amount"] == shown
    assert (await _detail(client, admin, created["id"]))["opportunity_obj"]["amount"] == shown


@pytest.mark.parametrize("amount", ["-1", "1.005", "10000000000.00", "abc", "NaN", "Infinity", []])
async def test_invalid_amounts_are_refused(
    client: httpx.AsyncClient, admin: Member, account: str, amount: Any
) -> None:
    response = await _post(client, admin, name="Deal", account=account, amount=amount)
    assert _field_error(response, "amount")


@pytest.mark.parametrize(("sent", "stored"), [("eur", "EUR"), (" gbp ", "GBP"), ("Jpy", "JPY")])
async def test_currency_is_normalised_to_upper_case(
    client: httpx.AsyncClient, admin: Member, account: str, sent: str, stored: str
) -> None:
    created = await _create(client, admin, account, currency=sent)
    assert created["currency"] == stored


@pytest.mark.parametrize("currency", ["EURO", "E1R", "US", "", "€€€", "ÉUR", 978])
async def test_currency_must_be_three_letters(
    client: httpx.AsyncClient, admin: Member, account: str, currency: Any
) -> None:
    response = await _post(client, admin, name="Deal", account=account, currency=currency)
    assert _field_error(response, "currency")


@pytest.mark.parametrize("key", ["expected_close_date", "due_date", "closed_on"])
async def test_expected_close_date_accepts_the_legacy_keys(
    client: httpx.AsyncClient, admin: Member, account: str, key: str
) -> None:
    created = await _create(client, admin, account, **{key: "2023-03-15"})
    assert created["expected_close_date"] == "2023-03-15"
    changed = await _changed(client, admin, created["id"], **{key: "2024-01-31"})
    assert changed["expected_close_date"] == "2024-01-31"


async def test_invalid_expected_close_date_is_refused(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    response = await _post(
        client, admin, name="Deal", account=account, expected_close_date="2023-02-30"
    )
    assert response.status_code == 400, response.text


# -- closing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["CLOSED WON", "closed lost"])
async def test_creating_a_closed_opportunity_stamps_the_close(
    client: httpx.AsyncClient, admin: Member, account: str, stage: str
) -> None:
    created = await _create(client, admin, account, stage=stage)
    assert created["actual_close_date"] == today().isoformat()
    assert created["closed_by"] == admin.profile_id


async def test_closing_reopening_and_reclosing(
    client: httpx.AsyncClient, factory: Factory, admin: Member, account: str
) -> None:
    seller = await factory.member_of(admin)
    created = await _create(client, admin, account, assigned_to=[seller.profile_id])
    assert created["actual_close_date"] is None

    won = await _changed(client, seller, created["id"], stage="closed won")
    assert (won["stage"], won["probability"]) == ("CLOSED WON", 100)
    assert won["actual_close_date"] == today().isoformat()
    assert won["closed_by"] == seller.profile_id  # whoever moved it

    again = await _changed(client, admin, created["id"], stage="CLOSED WON", amount="5.00")
    assert again["closed_by"] == seller.profile_id  # same stage: not a move

    lost = await _changed(client, admin, created["id"], stage="CLOSED LOST")
    assert (lost["probability"], lost["closed_by"]) == (0, admin.profile_id)
    assert lost["actual_close_date"] == today().isoformat()

    reopened = await _changed(client, admin, created["id"], stage="NEGOTIATION/REVIEW")
    assert (reopened["stage"], reopened["probability"]) == ("NEGOTIATION/REVIEW", 80)
    assert reopened["actual_close_date"] is None
    assert reopened["closed_by"] is None


async def test_close_fields_are_not_writable(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    created = await _create(
        client, admin, account, actual_close_date="2020-01-01", closed_by=admin.profile_id
    )
    assert (created["actual_close_date"], created["closed_by"]) == (None, None)


# -- update: stage and probability ----------------------------------------------------------------


async def test_stage_change_without_probability_takes_the_new_default(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    created = await _create(client, admin, account, probability=33)
    moved = await _changed(client, admin, created["id"], stage="value proposition")
    assert (moved["stage"], moved["probability"]) == ("VALUE PROPOSITION", 30)


async def test_stage_change_with_probability_keeps_the_sent_one(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    created = await _create(client, admin, account)
    moved = await _changed(
        client, admin, created["id"], method="PUT", stage="PROPOSAL/QUOTATION", probability=75
    )
    assert (moved["stage"], moved["probability"]) == ("PROPOSAL/QUOTATION", 75)


async def test_probability_alone_or_the_same_stage_keeps_the_other(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    created = await _create(client, admin, account, stage="NEEDS ANALYSIS")
    changed = await _changed(client, admin, created["id"], probability=45)
    assert (changed["stage"], changed["probability"]) == ("NEEDS ANALYSIS", 45)
    same = await _changed(client, admin, created["id"], stage="needs analysis")
    assert same["probability"] == 45
    nulls = await _changed(client, admin, created["id"], probability=None, stage=None)
    assert (nulls["stage"], nulls["probability"]) == ("NEEDS ANALYSIS", 45)


async def test_update_validates_like_create(
    client: httpx.AsyncClient, admin: Member, account: str, test_database: Database
) -> None:
    created = await _create(client, admin, account)
    before = await checksum(test_database)
    for field, value in [
        ("stage", "WON"),
        ("probability", 101),
        ("amount", "-5"),
        ("currency", "DOLLARS"),
        ("name", " "),
    ]:
        response = await _change(client, admin, created["id"], **{field: value})
        assert _field_error(response, field)
    assert await checksum(test_database) == before


async def test_partial_update_changes_only_what_is_sent(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    seller = await factory.member_of(admin)
    contact = await insert_contact(test_database, admin)
    created = await _create(
        client,
        admin,
        account,
        amount="10.00",
        currency="eur",
        lead_source="Cold Call",
        description="first",
        contacts=[contact],
        assigned_to=[seller.profile_id],
        tags=["big"],
    )
    changed = await _changed(client, admin, created["id"], lead_source="Referral")
    unchanged = {k: v for k, v in created.items() if k not in ("lead_source", "updated_at")}
    assert {k: v for k, v in changed.items() if k in unchanged} == unchanged
    assert changed["lead_source"] == "Referral"
    # A change of columns only is answered without reloading the opportunity: the answer is
    # what a fresh read shows, ETag (version) and update time included.
    fresh = await client.get(f"/api/opportunities/{created['id']}/", headers=admin.headers)
    assert fresh.status_code == 200, fresh.text
    shown = fresh.json()["opportunity_obj"]
    same_shape = [k for k in changed if k in shown and k != "account"]  # a name vs an id
    assert len(same_shape) > 10
    assert {k: shown[k] for k in same_shape} == {k: changed[k] for k in same_shape}
    assert changed["updated_at"] != created["updated_at"]
    patched = await _change(client, admin, created["id"], description="second")
    assert patched.headers.get("etag") == (
        await client.get(f"/api/opportunities/{created['id']}/", headers=admin.headers)
    ).headers.get("etag")

    cleared = await _changed(
        client, admin, created["id"], amount=None, description=None, name=None, currency=None
    )
    assert cleared["amount"] is None
    assert cleared["description"] is None
    assert cleared["name"] == created["name"]
    assert cleared["currency"] == "EUR"

    relinked = await _changed(client, admin, created["id"], method="PUT", tags=[], contacts=[])
    assert (relinked["tags"], relinked["contacts"]) == ([], [])
    assert relinked["assigned_to"] == [seller.profile_id]


# -- account and contacts ------------------------------------------------------------------------


async def test_account_is_required(
    client: httpx.AsyncClient, admin: Member, account: str, test_database: Database
) -> None:
    before = await checksum(test_database)
    assert _field_error(await _post(client, admin, name="Orphan"), "account")
    assert _field_error(await _post(client, admin, name="Orphan", account=None), "account")
    assert _field_error(await _post(client, admin, name="Orphan", account="nope"), "account")
    assert await checksum(test_database) == before


async def test_foreign_or_missing_account_is_a_400_on_account(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    other = await factory.admin()
    foreign = await insert_account(test_database, other)
    before = await checksum(test_database)
    for account_id in (foreign, str(uuid.uuid4())):
        response = await _post(client, admin, name="Deal", account=account_id)
        assert response.json()["code"] == "unknown_account"
        assert _field_error(response, "account") == [
            "Not an account of this organization that you can see"
        ]
    assert await checksum(test_database) == before


async def test_a_user_may_only_use_accounts_they_can_see(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    user = await factory.member_of(admin)
    assigned = await insert_account(test_database, admin, assigned_to=(user,))
    own = await insert_account(test_database, user)
    response = await _post(client, user, name="Hidden", account=account)
    assert _field_error(response, "account")
    assert (await _create(client, user, assigned))["account_id"] == assigned
    assert (await _create(client, user, own))["account_id"] == own


async def test_changing_the_account(
    client: httpx.AsyncClient, admin: Member, account: str, test_database: Database
) -> None:
    globex = await insert_account(test_database, admin, "Globex")
    created = await _create(client, admin, account)
    moved = await _changed(client, admin, created["id"], account=globex)
    assert (moved["account"], moved["account_id"]) == ("Globex", globex)
    response = await _change(client, admin, created["id"], account=None)
    assert _field_error(response, "account")
    response = await _change(client, admin, created["id"], account=str(uuid.uuid4()))
    assert _field_error(response, "account")
    assert (await _detail(client, admin, created["id"]))["opportunity_obj"]["account"] == globex


async def test_contacts_must_belong_to_the_org(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    other = await factory.admin()
    foreign = await insert_contact(test_database, other)
    mine = await insert_contact(test_database, admin)
    before = await checksum(test_database)
    response = await _post(client, admin, name="Deal", account=account, contacts=[mine, foreign])
    assert _field_error(response, "contacts") == [f"Not contacts of this organization: {foreign}"]
    assert await checksum(test_database) == before
    created = await _create(client, admin, account, contacts=f"{mine},{mine}")
    assert created["contacts"] == [mine]
    response = await _change(client, admin, created["id"], contacts=[str(uuid.uuid4())])
    assert _field_error(response, "contacts")


async def test_links_must_belong_to_the_org(
    client: httpx.AsyncClient, factory: Factory, admin: Member, account: str
) -> None:
    other = await factory.admin()
    outsider = await factory.member_of(other)
    team = await client.post("/api/teams/", json={"name": "Theirs"}, headers=other.headers)
    response = await _post(
        client, admin, name="Deal", account=account, assigned_to=[outsider.profile_id]
    )
    assert _field_error(response, "assigned_to")
    response = await _post(client, admin, name="Deal", account=account, teams=[team.json()["id"]])
    assert _field_error(response, "teams")


# -- names ---------------------------------------------------------------------------------------


async def test_names_are_unique_per_org_case_insensitively(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    first = await _create(client, admin, account, name="Big Deal")
    response = await _post(client, admin, name="  big deal ", account=account)
    assert response.json() == {
        "error": True,
        "errors": {"name": ["Opportunity already exists with this name"]},
        "code": "opportunity_name_taken",
    }
    second = await _create(client, admin, account, name="Other Deal")
    response = await _change(client, admin, second["id"], name="BIG DEAL")
    assert _field_error(response, "name")
    renamed = await _changed(client, admin, first["id"], name="BIG deal")
    assert renamed["name"] == "BIG deal"
    # Another org may use the same name.
    other = await factory.admin()
    await _create(client, other, await insert_account(test_database, other), name="Big Deal")


async def test_name_is_required_and_at_most_64_characters(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    assert _field_error(await _post(client, admin, account=account), "name")
    assert _field_error(await _post(client, admin, account=account, name="  "), "name")
    assert _field_error(await _post(client, admin, account=account, name="x" * 65), "name")
    assert (await _create(client, admin, account, name="x" * 64))["name"] == "x" * 64


# -- list ------------------------------------------------------------------------------------------


async def test_list_envelope_newest_first_and_pagination(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    for n in range(5):
        await _create(client, admin, account, name=f"Deal {n}")
    page = await _list(client, admin, limit=2)
    assert set(page) == LIST_KEYS
    assert page["count"] == 5
    assert _names(page) == ["Deal 4", "Deal 3"]
    assert set(page["results"][0]) == ITEM_KEYS
    assert page["results"][0]["account"] == "ACME Corporation"
    assert page["previous"] is None
    assert page["next"] == "/api/opportunities/?limit=2&offset=2"
    last = await _list(client, admin, limit=2, offset=4)
    assert _names(last) == ["Deal 0"]
    assert last["next"] is None
    assert last["previous"] == "/api/opportunities/?limit=2&offset=2"


async def test_list_lookups(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    member = await factory.member_of(admin)
    team = await client.post("/api/teams/", json={"name": "Sales"}, headers=admin.headers)
    contact = await insert_contact(test_database, admin, "Grace", "Hopper")
    page = await _list(client, admin)
    assert page["accounts_list"] == [{"id": account, "name": "ACME Corporation"}]
    assert page["contacts_list"] == [{"id": contact, "first_name": "Grace", "last_name": "Hopper"}]
    assert {u["id"]: u["email"] for u in page["users"]} == {
        admin.profile_id: admin.email,
        member.profile_id: member.email,
    }
    assert page["teams"] == [{"id": team.json()["id"], "name": "Sales"}]


async def test_users_get_only_their_accounts_and_contacts_in_the_lookups(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    user = await factory.member_of(admin)
    await insert_contact(test_database, admin)
    own_account = await insert_account(test_database, user, "Mine")
    assigned = await insert_account(test_database, admin, "Shared", assigned_to=(user,))
    own_contact = await insert_contact(test_database, user, "Own", "Contact")
    page = await _list(client, user)
    assert sorted(a["id"] for a in page["accounts_list"]) == sorted([own_account, assigned])
    assert [c["id"] for c in page["contacts_list"]] == [own_contact]


async def test_lookups_are_capped_at_100(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    for n in range(101):
        await insert_account(test_database, admin, f"Account {n:03}")
    page = await _list(client, admin)
    assert len(page["accounts_list"]) == 100
    assert page["accounts_list"][0]["name"] == "Account 000"


async def test_filter_by_name_is_partial_and_case_insensitive(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    await _create(client, admin, account, name="Enterprise Software Deal")
    await _create(client, admin, account, name="Hardware refresh")
    await _create(client, admin, account, name="100% off_sale")
    assert _names(await _list(client, admin, name="SOFTWARE")) == ["Enterprise Software Deal"]
    assert _names(await _list(client, admin, name="%")) == ["100% off_sale"]
    assert _names(await _list(client, admin, name="_")) == ["100% off_sale"]


async def test_filter_by_account_id_or_name(
    client: httpx.AsyncClient, admin: Member, account: str, test_database: Database
) -> None:
    globex = await insert_account(test_database, admin, "Globex Inc")
    await _create(client, admin, account, name="On ACME")
    await _create(client, admin, globex, name="On Globex")
    assert _names(await _list(client, admin, account=account)) == ["On ACME"]
    assert _names(await _list(client, admin, account=globex.upper())) == ["On Globex"]
    assert sorted(_names(await _list(client, admin, account=f"{account},{globex}"))) == [
        "On ACME",
        "On Globex",
    ]
    assert _names(await _list(client, admin, account="acme corp")) == ["On ACME"]
    assert _names(await _list(client, admin, account="GLOBEX")) == ["On Globex"]
    assert _names(await _list(client, admin, account=str(uuid.uuid4()))) == []
    assert _names(await _list(client, admin, account="Initech")) == []


async def test_filter_by_stage_case_insensitive_exact_several(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    await _create(client, admin, account, name="Q", stage="QUALIFICATION")
    await _create(client, admin, account, name="W", stage="CLOSED WON")
    await _create(client, admin, account, name="L", stage="CLOSED LOST")
    assert _names(await _list(client, admin, stage="closed won")) == ["W"]
    assert _names(await _list(client, admin, stage="CLOSED")) == []  # exact, not contains
    both = await _list(client, admin, stage=["closed won", "Qualification"])
    assert sorted(_names(both)) == ["Q", "W"]
    comma = await _list(client, admin, stage="closed lost,closed won")
    assert sorted(_names(comma)) == ["L", "W"]


async def test_filter_by_lead_source_is_partial(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    await _create(client, admin, account, name="Cold", lead_source="Cold Call")
    await _create(client, admin, account, name="Ref", lead_source="Referral")
    await _create(client, admin, account, name="None")
    assert _names(await _list(client, admin, lead_source="call")) == ["Cold"]
    assert _names(await _list(client, admin, lead_source="REF")) == ["Ref"]


async def test_filter_by_tags_and_assignees(
    client: httpx.AsyncClient, factory: Factory, admin: Member, account: str
) -> None:
    seller = await factory.member_of(admin)
    await _create(client, admin, account, name="Tagged", tags=["Enterprise"])
    await _create(client, admin, account, name="Assigned", assigned_to=[seller.profile_id])
    await _create(client, admin, account, name="Plain")
    assert _names(await _list(client, admin, tags="enterprise")) == ["Tagged"]
    assert _names(await _list(client, admin, tags="enterprise,nothing")) == ["Tagged"]
    assert _names(await _list(client, admin, assigned_to=seller.profile_id)) == ["Assigned"]
    response = await client.get(
        "/api/opportunities/", params={"assigned_to": "me"}, headers=admin.headers
    )
    assert _field_error(response, "assigned_to")


async def test_filter_by_currency(client: httpx.AsyncClient, admin: Member, account: str) -> None:
    await _create(client, admin, account, name="Dollars")
    await _create(client, admin, account, name="Euros", currency="EUR")
    await _create(client, admin, account, name="Pounds", currency="GBP")
    assert _names(await _list(client, admin, currency="eur")) == ["Euros"]
    assert sorted(_names(await _list(client, admin, currency=["usd", "GBP"]))) == [
        "Dollars",
        "Pounds",
    ]


async def test_filters_combine(client: httpx.AsyncClient, admin: Member, account: str) -> None:
    await _create(client, admin, account, name="Euro win", currency="EUR", stage="CLOSED WON")
    await _create(client, admin, account, name="Euro open", currency="EUR")
    await _create(client, admin, account, name="Dollar win", stage="CLOSED WON")
    page = await _list(client, admin, currency="EUR", stage="closed won", name="euro")
    assert _names(page) == ["Euro win"]
    assert page["count"] == 1


# -- forecast --------------------------------------------------------------------------------------


def _forecast(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["currency"]: row for row in page["forecast"]}


async def test_forecast_per_currency_over_the_whole_filtered_set(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    for n in range(3):
        await _create(client, admin, account, name=f"Third {n}", amount="33.33", probability=33)
    await _create(client, admin, account, name="No amount", probability=90)
    await _create(client, admin, account, name="Euro", amount="100.00", currency="EUR")
    await _create(
        client, admin, account, name="Yen", amount="1000", currency="JPY", stage="CLOSED WON"
    )
    page = await _list(client, admin, limit=1)
    assert len(page["results"]) == 1
    assert page["forecast"] == [  # ordered by currency, never mixed
        {"currency": "EUR", "count": 1, "amount": "100.00", "weighted_amount": "10.00"},
        {"currency": "JPY", "count": 1, "amount": "1000.00", "weighted_amount": "1000.00"},
        # 3 x 33.33 x 33% = 32.9967: summed exactly, rounded once.
        {"currency": "USD", "count": 4, "amount": "99.99", "weighted_amount": "33.00"},
    ]
    filtered = await _list(client, admin, name="third", limit=1)
    assert filtered["forecast"] == [
        {"currency": "USD", "count": 3, "amount": "99.99", "weighted_amount": "33.00"}
    ]
    assert (await _list(client, admin, name="nothing"))["forecast"] == []


async def test_forecast_rounds_the_sum_not_each_row(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    # Each row weighs 0.005: rounding rows first would give 0.03; the exact sum is 0.015.
    for n in range(3):
        await _create(client, admin, account, name=f"Tiny {n}", amount="0.05", probability=10)
    assert _forecast(await _list(client, admin))["USD"] == {
        "currency": "USD",
        "count": 3,
        "amount": "0.15",
        "weighted_amount": "0.02",
    }


async def test_forecast_is_exact_for_large_amounts(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    for n in range(3):
        await _create(
            client, admin, account, name=f"Huge {n}", amount="9999999999.99", probability=99
        )
    assert _forecast(await _list(client, admin))["USD"] == {
        "currency": "USD",
        "count": 3,
        "amount": "29999999999.97",
        "weighted_amount": "29699999999.97",  # 29 999 999 999.97 x 0.99 = 29 699 999 999.9703
    }


async def test_forecast_follows_visibility(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    user = await factory.member_of(admin)
    await _create(client, admin, account, name="Admin's", amount="500.00", probability=50)
    await _create(
        client,
        admin,
        account,
        name="Shared",
        amount="20.00",
        probability=50,
        assigned_to=[user.profile_id],
    )
    own = await insert_account(test_database, user)
    await _create(client, user, own, name="User's", amount="1.00", probability=100)
    assert _forecast(await _list(client, user))["USD"] == {
        "currency": "USD",
        "count": 2,
        "amount": "21.00",
        "weighted_amount": "11.00",
    }
    assert _forecast(await _list(client, admin))["USD"]["count"] == 3


# -- detail ---------------------------------------------------------------------------------------


async def test_detail_shape(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    seller = await factory.member_of(admin)
    team = await client.post("/api/teams/", json={"name": "Sales"}, headers=admin.headers)
    contact = await insert_contact(test_database, admin, "Grace", "Hopper")
    created = await _create(
        client,
        admin,
        account,
        name="Enterprise Software Deal",
        stage="VALUE PROPOSITION",
        amount="75000",
        probability=60,
        expected_close_date="2023-03-15",
        lead_source="Cold Call",
        description="Enterprise software solution for 200+ users",
        contacts=[contact],
        assigned_to=[seller.profile_id],
        teams=[team.json()["id"]],
        tags=["enterprise", "software"],
    )
    detail = await _detail(client, admin, created["id"])
    assert set(detail) == DETAIL_KEYS
    obj = detail["opportunity_obj"]
    assert set(obj) == OBJ_KEYS
    assert obj["account"] == account
    assert {k: obj[k] for k in OBJ_KEYS - {"account"}} == {
        k: created[k] for k in OBJ_KEYS - {"account"}
    }
    assert obj["amount"] == "75000.00"
    assert detail["account_obj"]["id"] == account
    assert detail["account_obj"]["name"] == "ACME Corporation"
    assert [c["id"] for c in detail["contacts"]] == [contact]
    assert detail["contacts"][0]["first_name"] == "Grace"
    assert [m["id"] for m in detail["assigned_to"]] == [seller.profile_id]
    assert set(detail["assigned_to"][0]) == MEMBER_BRIEF_KEYS
    assert detail["teams"] == [{"id": team.json()["id"], "name": "Sales"}]
    assert sorted(detail["tags"]) == ["enterprise", "software"]
    assert (detail["comments"], detail["attachments"]) == ([], [])
    assert detail["comment_permission"] is True
    emails = {m["user__email"] for m in detail["users_mention"]}
    assert emails == {admin.email, seller.email}

    seen_by_seller = await _detail(client, seller, created["id"])
    assert seen_by_seller["users_mention"] == [{"username": admin.email}]
    assert seen_by_seller["comment_permission"] is False


async def test_unknown_or_malformed_ids_are_404(client: httpx.AsyncClient, admin: Member) -> None:
    for opportunity_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = await client.request(
                method,
                f"/api/opportunities/{opportunity_id}/",
                json={"name": "x"} if method in ("PUT", "PATCH") else None,
                headers=admin.headers,
            )
            assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, response)


# -- visibility, permissions, isolation ----------------------------------------------------------


async def test_users_see_what_they_created_or_are_assigned(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    user = await factory.member_of(admin)
    hidden = await _create(client, admin, account, name="Hidden")
    assigned = await _create(client, admin, account, name="Assigned", assigned_to=[user.profile_id])
    own = await _create(client, user, await insert_account(test_database, user), name="Own")
    page = await _list(client, user)
    assert sorted(_names(page)) == ["Assigned", "Own"]
    assert page["count"] == 2
    assert (await _list(client, admin))["count"] == 3
    await _detail(client, user, assigned["id"])
    await _detail(client, user, own["id"])
    response = await client.get(f"/api/opportunities/{hidden['id']}/", headers=user.headers)
    assert (response.status_code, response.json()) == (403, DENIED)


async def test_assignee_may_update_but_not_delete(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    user = await factory.member_of(admin)
    created = await _create(client, admin, account, assigned_to=[user.profile_id])
    changed = await _changed(client, user, created["id"], stage="NEEDS ANALYSIS")
    assert changed["stage"] == "NEEDS ANALYSIS"
    before = await checksum(test_database)
    response = await client.delete(f"/api/opportunities/{created['id']}/", headers=user.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before


async def test_other_users_may_neither_change_nor_delete(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    user = await factory.member_of(admin)
    created = await _create(client, admin, account)
    before = await checksum(test_database)
    for method in ("PUT", "PATCH"):
        response = await _change(client, user, created["id"], method=method, name="Mine now")
        assert (response.status_code, response.json()) == (403, DENIED)
    response = await client.delete(f"/api/opportunities/{created['id']}/", headers=user.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before


async def test_creator_and_admin_may_delete(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    user = await factory.member_of(admin)
    own = await _create(client, user, await insert_account(test_database, user))
    other = await _create(client, admin, account)
    for caller, opportunity in ((user, own), (admin, other)):
        response = await client.delete(
            f"/api/opportunities/{opportunity['id']}/", headers=caller.headers
        )
        assert response.status_code == 204, response.text
        assert response.content == b""
        gone = await client.get(f"/api/opportunities/{opportunity['id']}/", headers=admin.headers)
        assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    assert (await _list(client, admin))["count"] == 0


async def test_another_org_cannot_reach_an_opportunity(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    account: str,
    test_database: Database,
) -> None:
    created = await _create(client, admin, account, name="Ours")
    intruder = await factory.admin()
    before = await checksum(test_database)
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/api/opportunities/{created['id']}/",
            json={"name": "Stolen"} if method in ("PUT", "PATCH") else None,
            headers=intruder.headers,
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND), method
    assert await checksum(test_database) == before
    page = await _list(client, intruder)
    assert (page["count"], page["forecast"], page["accounts_list"]) == (0, [], [])
    response = await _post(client, intruder, name="Ours", account=account)
    assert _field_error(response, "account")


# -- comments and attachments (served by the activity module) -----------------------------------


async def test_detail_lists_comments_and_attachments_newest_first(
    client: httpx.AsyncClient, admin: Member, account: str
) -> None:
    created = await _create(client, admin, account)
    url = f"/api/opportunities/{created['id']}/"
    first = await client.post(url, json={"comment": "Proposal sent"}, headers=admin.headers)
    assert first.status_code == 201, first.text
    second = await client.post(
        url,
        data={"comment": "Signed"},
        files={"attachment": ("contract.txt", b"signed contract", "text/plain")},
        headers=admin.headers,
    )
    assert second.status_code == 201, second.text
    detail = await _detail(client, admin, created["id"])
    assert [c["comment"] for c in detail["comments"]] == ["Signed", "Proposal sent"]
    assert {c["opportunity"] for c in detail["comments"]} == {created["id"]}
    assert [a["file_name"] for a in detail["attachments"]] == ["contract.txt"]
    assert detail["attachments"][0]["opportunity"] == created["id"]


async def test_delete_removes_the_comments_and_files(
    client: httpx.AsyncClient, admin: Member, account: str, settings: Settings
) -> None:
    created = await _create(client, admin, account)
    url = f"/api/opportunities/{created['id']}/"
    root = settings.data_dir / "attachments"
    before = set(root.rglob("*")) if root.exists() else set()
    added = await client.post(
        url,
        data={"comment": "see file"},
        files={"attachment": ("quote.txt", b"price quote", "text/plain")},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    download = added.json()["attachment"]["attachment"]
    stored = {p for p in root.rglob("*") if p.is_file()} - before
    assert len(stored) == 1

    assert (await client.delete(url, headers=admin.headers)).status_code == 204

    assert not next(iter(stored)).exists()
    gone = await client.get(download, headers=admin.headers)
    assert gone.status_code == 404
