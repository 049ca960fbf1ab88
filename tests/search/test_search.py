"""GET /api/search/ (issue 7): matching, ranking, visibility and input errors, through the
HTTP API on the backend under test (SQLite's FTS5 index, PostgreSQL's trigram indexes)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from crm.core.db import Database
from tests.conftest import Factory, Member
from tests.sql_count import count_statements

PATHS = {
    "account": "/api/accounts/",
    "contact": "/api/contacts/",
    "lead": "/api/leads/",
    "opportunity": "/api/opportunities/",
    "case": "/api/cases/",
}


def _word() -> str:
    """A word no other record contains (letters only: a trigram index sees all of it)."""
    return "qz" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])


async def _create(client: httpx.AsyncClient, member: Member, kind: str, **body: Any) -> str:
    if kind == "contact":
        body.setdefault("primary_email", f"{uuid.uuid4().hex[:10]}@example.com")
    if kind == "opportunity" and "account" not in body:
        body["account"] = await _create(client, member, "account", name=f"For {body['name']}")
    response = await client.post(PATHS[kind], json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _search(client: httpx.AsyncClient, member: Member, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/search/", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert body["count"] == len(body["results"])
    return body


def _hits(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(hit["type"], hit["id"]) for hit in body["results"]]


async def test_ranks_exact_then_prefix_then_contains_then_other_fields(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    w = _word()
    # Oldest first, so the tiers, not recency, decide the order.
    exact = await _create(client, admin, "account", name=w.upper())
    prefix_old = await _create(client, admin, "case", name=f"{w} escalation")
    prefix_new = await _create(client, admin, "opportunity", name=f"{w}-renewal")
    contains = await _create(client, admin, "contact", first_name="Ada", last_name=f"Von{w}")
    other = await _create(
        client, admin, "lead", first_name="Jane", last_name="Doe", account_name=f"{w} Holdings"
    )
    body = await _search(client, admin, q=f"  {w.capitalize()} ")
    # The opportunity's account is named "For <w>-renewal": a name containing the word.
    accounts = [h for h in _hits(body) if h[0] == "account" and h[1] != exact]
    assert _hits(body) == [
        ("account", exact),
        ("opportunity", prefix_new),
        ("case", prefix_old),
        *accounts[:1],
        ("contact", contains),
        ("lead", other),
    ] or _hits(body) == [
        ("account", exact),
        ("opportunity", prefix_new),
        ("case", prefix_old),
        ("contact", contains),
        *accounts[:1],
        ("lead", other),
    ]
    assert [h["score"] for h in body["results"]] == [1.0, 0.75, 0.75, 0.5, 0.5, 0.25]
    assert body["query"] == w.capitalize()
    first = body["results"][0]
    assert (first["title"], first["subtitle"]) == (w.upper(), "")
    lead = body["results"][-1]
    assert (lead["title"], lead["subtitle"]) == ("Jane Doe", f"{w} Holdings")


async def test_newest_first_within_a_tier_and_limit(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    w = _word()
    ids = [await _create(client, admin, "case", name=f"{w} {n}") for n in range(4)]
    body = await _search(client, admin, q=w, limit=3)
    assert _hits(body) == [("case", i) for i in reversed(ids[1:])]
    assert (await _search(client, admin, q=w, limit=1000))["count"] == 4


async def test_every_term_must_match_somewhere_case_insensitively(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    w = _word()
    lead = await _create(
        client, admin, "lead", first_name="Mirabel", last_name="Stone", email=f"m@{w}.example"
    )
    await _create(client, admin, "lead", first_name="Mirabel", last_name="Clay")
    assert _hits(await _search(client, admin, q=f"MIRABEL {w.upper()}")) == [("lead", lead)]
    assert _hits(await _search(client, admin, q=f"{w} stone mira")) == [("lead", lead)]
    assert _hits(await _search(client, admin, q=f"mirabel {w} nowhere")) == []
    assert _hits(await _search(client, admin, q=f"stone mirabel {w}")) == [("lead", lead)]


async def test_each_type_by_its_texts_and_the_types_filter(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    w = _word()
    account = await _create(client, admin, "account", name="Northwall", website=f"https://{w}.io")
    contact = await _create(
        client, admin, "contact", first_name="Ada", last_name="Byron", organization=f"{w} Labs"
    )
    lead = await _create(client, admin, "lead", first_name="Al", last_name="Ng", title=f"{w} deal")
    case = await _create(client, admin, "case", name=f"Broken {w}")
    opportunity = await _create(client, admin, "opportunity", name=f"Big {w}")
    body = await _search(client, admin, q=w, limit=20)
    found = set(_hits(body))
    assert {
        ("account", account),
        ("contact", contact),
        ("lead", lead),
        ("case", case),
        ("opportunity", opportunity),
    } <= found
    only = await _search(client, admin, q=w, types="lead,CASE")
    assert set(_hits(only)) == {("lead", lead), ("case", case)}
    repeated = await client.get(
        "/api/search/",
        params=[("q", w), ("types", "contact"), ("types", "account")],
        headers=admin.headers,
    )
    kinds = {h["type"] for h in repeated.json()["results"]}
    assert kinds == {"contact", "account"}


async def test_converted_leads_are_left_out(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    w = _word()
    response = await client.post(
        "/api/leads/",
        json={
            "first_name": "Conny",
            "last_name": w,
            "email": f"conny@{w}.example",
            "account_name": f"{w} Converted",
            "status": "converted",
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    kinds = {h["type"] for h in (await _search(client, admin, q=w, limit=50))["results"]}
    assert "lead" not in kinds
    assert {"account", "contact"} <= kinds


async def test_changes_are_indexed_and_deleted_records_gone(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    old, new = _word(), _word()
    lead = await _create(client, admin, "lead", first_name=old, last_name="Smith")
    account = await _create(client, admin, "account", name=f"{old} Inc")
    assert len(_hits(await _search(client, admin, q=old))) == 2
    response = await client.patch(
        f"/api/leads/{lead}/", json={"first_name": new}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert _hits(await _search(client, admin, q=old)) == [("account", account)]
    assert _hits(await _search(client, admin, q=f"{new} smith")) == [("lead", lead)]
    response = await client.delete(f"/api/accounts/{account}/", headers=admin.headers)
    assert response.status_code == 204, response.text
    assert _hits(await _search(client, admin, q=old)) == []


async def test_a_user_finds_only_what_their_lists_show(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    w = _word()
    hidden = {
        (kind, await _create(client, admin, kind, **_named(kind, f"{w} hidden"))) for kind in PATHS
    }
    own = {
        (kind, await _create(client, user, kind, **_named(kind, f"{w} own")))
        for kind in ("account", "contact", "lead", "case")
    }
    assigned = await _create(
        client, admin, "lead", first_name=w, last_name="Assigned", assigned_to=[user.profile_id]
    )
    seen = set(_hits(await _search(client, user, q=w, limit=100)))
    assert seen == own | {("lead", assigned)}
    assert not seen & hidden
    everything = set(_hits(await _search(client, admin, q=w, limit=100)))
    assert hidden | own <= everything


def _named(kind: str, text: str) -> dict[str, Any]:
    if kind in ("contact", "lead"):
        first, last = text.split(" ", 1)
        return {"first_name": first, "last_name": last}
    return {"name": text}


async def test_another_orgs_records_never_appear(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin, stranger = await factory.admin(), await factory.admin()
    w = _word()
    for kind in PATHS:
        await _create(client, stranger, kind, **_named(kind, f"{w} theirs"))
    assert _hits(await _search(client, admin, q=w)) == []
    # Six: the opportunity's account ("For ...") is theirs too.
    assert len(_hits(await _search(client, stranger, q=w))) == 6


async def test_short_terms_and_like_wildcards(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    w = _word()
    percent = await _create(client, admin, "case", name=f"Promo 5% {w}")
    plain = await _create(client, admin, "case", name=f"Promo 50 {w}")
    underscore = await _create(client, admin, "case", name=f"a_b {w}")
    assert _hits(await _search(client, admin, q=f"5% {w}")) == [("case", percent)]
    assert _hits(await _search(client, admin, q=f"a_b {w}")) == [("case", underscore)]
    # Only short terms: no trigram to look up, the newest records are read instead.
    short = set(_hits(await _search(client, admin, q="a_", limit=100)))
    assert ("case", underscore) in short
    assert ("case", plain) not in short
    assert ("case", plain) in set(_hits(await _search(client, admin, q="50", limit=100)))


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "invalid_search_query"),
        ({"q": ""}, "invalid_search_query"),
        ({"q": "  a   "}, "invalid_search_query"),
        ({"q": "x" * 201}, "invalid_search_query"),
        ({"q": " ".join(f"w{n}" for n in range(9))}, "invalid_search_query"),
        ({"q": "acme", "types": "lead,invoice"}, "invalid_search_type"),
    ],
)
async def test_bad_input_is_a_400(
    client: httpx.AsyncClient, factory: Factory, params: dict[str, str], code: str
) -> None:
    admin = await factory.admin()
    response = await client.get("/api/search/", params=params, headers=admin.headers)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] is True
    assert body["code"] == code
    assert list(body["errors"]) == ["types" if code == "invalid_search_type" else "q"]


async def test_bad_limit_is_a_400_and_a_long_query_is_fine(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    response = await client.get(
        "/api/search/", params={"q": "acme", "limit": "0"}, headers=admin.headers
    )
    assert response.status_code == 400, response.text
    assert (await _search(client, admin, q=" " + "y" * 200 + " "))["count"] == 0


async def test_statements_do_not_grow_with_limit_or_hits(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    w = _word()

    async def statements(member: Member, limit: int) -> int:
        with count_statements(test_database.engine) as counter:
            await _search(client, member, q=w, limit=limit)
        return counter.count

    empty = await statements(admin, 1)
    for n in range(6):
        for kind in PATHS:
            await _create(client, admin if n % 2 else user, kind, **_named(kind, f"{w} n{n}"))
    assert await statements(admin, 1) == empty
    assert await statements(admin, 100) == empty
    assert await statements(user, 100) == empty
    assert (await _search(client, admin, q=w, limit=100))["count"] == 36  # + "For ..." accounts
