"""Keyset (cursor) pages of the record lists, through the HTTP API: a walk by cursor shows
every visible row once, in the offset walk's order (ties on created_on included), keeps the
filters and the USER's visibility, repeats nothing when rows are added meanwhile; bad tokens
and a cursor with an offset are 400; the statements do not grow with the page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from crm.activity.record_types import BY_KIND
from crm.core.clock import utcnow
from crm.core.db import Database
from crm.core.tenancy import unscoped
from crm.models import Lead
from tests.activity.records import make_record
from tests.conftest import Factory, Member
from tests.sql_count import count_statements


@dataclass(frozen=True)
class Half:
    name: str  # "" for a list with no halves
    results: str
    next: str
    count: str


@dataclass(frozen=True)
class Listing:
    path: str
    kind: str
    halves: tuple[Half, ...]
    erp: bool = False

    @property
    def split(self) -> bool:
        return len(self.halves) > 1


def _split(path: str, kind: str, things: str) -> Listing:
    return Listing(
        path,
        kind,
        (
            Half("open", f"open_{things}", "next_open", f"open_{things}_count"),
            Half("closed", f"closed_{things}", "next_closed", f"closed_{things}_count"),
        ),
    )


_PLAIN = (Half("", "results", "next", "count"),)
LISTINGS = [
    _split("/api/leads/", "lead", "leads"),
    _split("/api/accounts/", "account", "accounts"),
    Listing("/api/contacts/", "contact", _PLAIN),
    Listing("/api/opportunities/", "opportunity", _PLAIN),
    Listing("/api/cases/", "case", _PLAIN),
    Listing("/api/tasks/", "task", _PLAIN),
    Listing("/api/events/", "event", _PLAIN),
    Listing("/api/invoices/", "invoice", _PLAIN),
    Listing("/api/crm/opportunity", "opportunity", (Half("", "data", "", "total"),), erp=True),
]
IDS = [listing.path for listing in LISTINGS]
CLOSED = {1, 4, 7}  # positions made closed in the split lists
SEEN_BY_USER = {0, 2, 3, 5, 8}  # positions assigned to the USER


def _id(raw: str) -> str:
    return str(uuid.UUID(raw.rsplit("_", 1)[-1]))


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [_id(row["id"]) for row in rows]


async def _records(database: Database, admin: Member, user: Member, listing: Listing) -> list[str]:
    """Nine records, created in an order unlike their ``created_on``: positions 2-4 share one
    creation time and 6-7 another; the split lists' positions in ``CLOSED`` are closed."""
    made = [
        await make_record(
            database, admin, listing.kind, assigned_to=[user] if n in SEEN_BY_USER else []
        )
        for n in range(9)
    ]
    model = BY_KIND[listing.kind].model
    start = utcnow() - timedelta(days=3)
    moments = [start - timedelta(minutes=m) for m in (0, 1, 5, 5, 5, 6, 9, 9, 12)]
    async with database.sessionmaker() as session:
        with unscoped(session):
            for n, record_id in enumerate(made):
                values: dict[str, Any] = {"created_on": moments[n]}
                if listing.split and n in CLOSED:
                    values["status"] = "closed"
                await session.execute(
                    update(model).where(model.id == uuid.UUID(record_id)).values(**values)
                )
        await session.commit()
    return made


async def _in_list_order(database: Database, kind: str, ids: set[str]) -> list[str]:
    """``ids`` in the default order (newest first, the id breaking ties), per the database."""
    model = BY_KIND[kind].model
    async with database.sessionmaker() as session:
        with unscoped(session):
            found = await session.scalars(
                select(model.id)
                .where(model.id.in_([uuid.UUID(i) for i in ids]))
                .order_by(model.created_on.desc(), model.id.desc())
            )
            return [str(i) for i in found]


async def _get(client: httpx.AsyncClient, caller: Member, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params or None, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def walk(
    client: httpx.AsyncClient,
    caller: Member,
    listing: Listing,
    *,
    cursor: bool,
    limit: int = 2,
    filters: dict[str, str] | None = None,
    between_pages: Any = None,
) -> dict[str, list[str]]:
    """Every row of each half, following the ``next`` links (``has_more`` on /api/crm/)."""
    params: dict[str, Any] = {"limit": limit, **(filters or {})}
    counts_stay = between_pages is None  # rows added meanwhile are counted
    if cursor:
        params["cursor"] = ""
    first = await _get(client, caller, listing.path, **params)
    walked: dict[str, list[str]] = {}
    for half in listing.halves:
        rows = _ids(first[half.results])
        body = first
        pages = 1
        while True:
            if listing.erp:
                if not body["has_more"]:
                    assert body.get("next_cursor") is None
                    break
                step = {"cursor": body["next_cursor"]} if cursor else {"offset": pages * limit}
                url, query = listing.path, {**params, **step}
            else:
                link = body[half.next]
                if link is None:
                    break
                split = urlsplit(link)
                assert split.path.rstrip("/") == listing.path.rstrip("/")
                query = {k: v[0] for k, v in parse_qs(split.query).items()}
                assert ("cursor" in query, "offset" in query) == (cursor, not cursor), link
                for key, value in (filters or {}).items():
                    assert query[key] == value, link
                url = split.path
            if between_pages is not None:
                await between_pages()
                between_pages = None
            body = await _get(client, caller, url, **query)
            pages += 1
            for other in listing.halves:
                assert body[other.count] == first[other.count] or not counts_stay
                if cursor and other is not half:
                    # A cursor continues one half: the other's rows and link are not there.
                    assert body[other.results] == []
                    assert body[other.next] is None
            if cursor and not listing.erp:
                assert body.get("previous") is None
            page = _ids(body[half.results])
            assert 0 < len(page) <= limit
            rows += page
        walked[half.name] = rows
    return walked


def _expected_split(listing: Listing, made: list[str], positions: set[int]) -> dict[str, set[str]]:
    if not listing.split:
        return {"": {made[n] for n in positions}}
    return {
        "open": {made[n] for n in positions if n not in CLOSED},
        "closed": {made[n] for n in positions if n in CLOSED},
    }


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
async def test_a_cursor_walk_shows_every_visible_row_once_in_offset_order(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, listing: Listing
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    made = await _records(test_database, admin, user, listing)
    for caller, positions in ((admin, set(range(9))), (user, SEEN_BY_USER)):
        expected = _expected_split(listing, made, positions)
        by_cursor = await walk(client, caller, listing, cursor=True)
        by_offset = await walk(client, caller, listing, cursor=False)
        assert by_cursor == by_offset
        for half, ids in expected.items():
            assert len(by_cursor[half]) == len(ids)
            assert by_cursor[half] == await _in_list_order(test_database, listing.kind, ids)
        # One row per page and a whole page: the same rows.
        for limit in (1, 100):
            assert await walk(client, caller, listing, cursor=True, limit=limit) == by_cursor


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
async def test_rows_added_during_a_walk_repeat_nothing(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, listing: Listing
) -> None:
    """Rows created after the first page are newer than the cursor: the walk goes on where
    it was, without repeating a row (an offset walk would repeat the rows pushed down)."""
    admin = await factory.admin()
    user = await factory.member_of(admin)
    made = await _records(test_database, admin, user, listing)
    added: list[str] = []

    async def add_rows() -> None:
        for _ in range(3):
            added.append(await make_record(test_database, admin, listing.kind))

    walked = await walk(client, admin, listing, cursor=True, between_pages=add_rows)
    assert len(added) == 3
    for half, ids in _expected_split(listing, made, set(range(9))).items():
        rows = walked[half]
        assert len(rows) == len(set(rows))
        assert rows == await _in_list_order(test_database, listing.kind, ids)


async def test_filters_hold_on_every_cursor_page(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    listing = LISTINGS[0]
    admin = await factory.admin()
    user = await factory.member_of(admin)
    made = await _records(test_database, admin, user, listing)
    referral = {0, 1, 3, 4, 6, 8}
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            for n in referral:
                await session.execute(
                    update(Lead)
                    .where(Lead.id == uuid.UUID(made[n]))
                    .values(source=("Referral", "REFERRAL")[n % 2])
                )
        await session.commit()
    filters = {"source": "referral"}
    walked = await walk(client, admin, listing, cursor=True, filters=filters)
    assert walked == await walk(client, admin, listing, cursor=False, filters=filters)
    for half, ids in _expected_split(listing, made, referral).items():
        assert walked[half] == await _in_list_order(test_database, "lead", ids)
    closed = await walk(client, admin, listing, cursor=True, filters={"status": "closed"})
    assert closed["open"] == []
    assert closed["closed"] == await _in_list_order(
        test_database, "lead", {made[n] for n in CLOSED}
    )


def _code(body: dict[str, Any]) -> str:
    error = body["error"]
    return str(error["code"] if isinstance(error, dict) else body["code"])


async def _token(client: httpx.AsyncClient, caller: Member, listing: Listing) -> str:
    body = await _get(client, caller, listing.path, limit=1, cursor="")
    if listing.erp:
        return str(body["next_cursor"])
    link = body[listing.halves[0].next]
    return parse_qs(urlsplit(link).query)["cursor"][0]


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
async def test_bad_cursors_are_400(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, listing: Listing
) -> None:
    admin = await factory.admin()
    await _records(test_database, admin, await factory.member_of(admin), listing)
    token = await _token(client, admin, listing)
    other = LISTINGS[2] if listing is not LISTINGS[2] else LISTINGS[0]
    await _records(test_database, admin, await factory.member_of(admin), other)
    foreign = await _token(client, admin, other)
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for bad in ("nonsense", "x" * 500, token[:-2], flipped, foreign, "%%%", "é", token + "AAAA"):
        response = await client.get(listing.path, params={"cursor": bad}, headers=admin.headers)
        assert response.status_code == 400, (bad, response.text)
        assert _code(response.json()) == "invalid_cursor", response.text
        if listing.erp:
            assert response.json()["error"]["param"] == "cursor"
    response = await client.get(
        listing.path, params={"cursor": "", "offset": 2}, headers=admin.headers
    )
    assert response.status_code == 400, response.text
    assert _code(response.json()) == "cursor_with_offset"
    for fine in ({"cursor": "", "offset": 0}, {"cursor": token}):
        response = await client.get(listing.path, params=fine, headers=admin.headers)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("listing", LISTINGS, ids=IDS)
async def test_cursor_pages_issue_a_constant_number_of_statements(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, listing: Listing
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    await _records(test_database, admin, user, listing)
    token = await _token(client, admin, listing)

    async def statements(caller: Member, params: dict[str, Any]) -> int:
        with count_statements(test_database.engine) as counter:
            response = await client.get(listing.path, params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        return counter.count

    for caller in (admin, user):
        first = [await statements(caller, {"cursor": "", "limit": n}) for n in (2, 100)]
        later = [await statements(caller, {"cursor": token, "limit": n}) for n in (2, 100)]
        assert first[0] == first[1], caller
        assert later[0] == later[1], caller
