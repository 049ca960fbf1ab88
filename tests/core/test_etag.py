"""Optimistic concurrency through HTTP: ETag on reads and writes, If-Match semantics
(RFC 9110: ``*``, lists, weak tags never match), compatibility without If-Match, and 50
concurrent guarded increments of one field that lose nothing."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from crm.app import create_app
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.queue import RecordingDispatcher
from crm.core.ratelimit import MemoryCounter
from tests.conftest import TEST_SECRET, Factory, Member, fresh_database_url


async def _opportunity(client: httpx.AsyncClient, admin: Member) -> str:
    account = await client.post(
        "/api/accounts/", json={"name": f"Acct {uuid.uuid4().hex[:8]}"}, headers=admin.headers
    )
    assert account.status_code == 201, account.text
    response = await client.post(
        "/api/opportunities/",
        json={"name": f"Deal {uuid.uuid4().hex[:8]}", "account": account.json()["id"]},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_reads_and_writes_carry_the_version(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    url = f"/api/opportunities/{await _opportunity(client, admin)}/"
    first = await client.get(url, headers=admin.headers)
    assert first.headers["ETag"] == '"1"'
    edit = await client.patch(url, json={"probability": 40}, headers=admin.headers)
    assert edit.status_code == 200, edit.text
    assert edit.headers["ETag"] == '"2"'
    assert (await client.get(url, headers=admin.headers)).headers["ETag"] == '"2"'
    # Lists and refusals name no version.
    listed = await client.get("/api/opportunities/", headers=admin.headers)
    assert "ETag" not in listed.headers
    missing = await client.get(f"/api/opportunities/{uuid.uuid4()}/", headers=admin.headers)
    assert missing.status_code == 404
    assert "ETag" not in missing.headers


async def test_without_if_match_writes_stay_unconditional(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    url = f"/api/opportunities/{await _opportunity(client, admin)}/"
    for probability in (10, 20, 30):
        edit = await client.patch(url, json={"probability": probability}, headers=admin.headers)
        assert edit.status_code == 200, edit.text
    detail = await client.get(url, headers=admin.headers)
    assert detail.json()["opportunity_obj"]["probability"] == 30


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ('"1"', 200),
        ("*", 200),
        ('"7", "1"', 200),
        ('W/"1"', 412),  # If-Match compares strongly: a weak tag never matches
        ('"2"', 412),
        ("1", 412),  # not an entity tag
        ("", 200),  # an empty header lists no tag: treated as absent
    ],
)
async def test_if_match_forms(
    if_match: str, status: int, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    url = f"/api/opportunities/{await _opportunity(client, admin)}/"
    headers = {**admin.headers, "If-Match": if_match}
    edit = await client.patch(url, json={"probability": 55}, headers=headers)
    assert edit.status_code == status, edit.text
    detail = await client.get(url, headers=admin.headers)
    assert (detail.json()["opportunity_obj"]["probability"] == 55) is (status == 200)


async def test_a_links_only_edit_makes_a_new_version(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """Assignees live in another table; the record's version must move anyway, or two
    people editing them from the same read would both succeed."""
    admin = await factory.admin()
    user = await factory.member_of(admin)
    url = f"/api/opportunities/{await _opportunity(client, admin)}/"
    tag = (await client.get(url, headers=admin.headers)).headers["ETag"]
    guarded = {**admin.headers, "If-Match": tag}
    first = await client.patch(url, json={"assigned_to": [user.profile_id]}, headers=guarded)
    assert first.status_code == 200, first.text
    second = await client.patch(url, json={"assigned_to": []}, headers=guarded)
    assert second.status_code == 412, second.text
    detail = await client.get(url, headers=admin.headers)
    assigned = detail.json()["assigned_to"]
    assert [a["id"] for a in assigned] == [user.profile_id]


async def test_delete_honours_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    url = f"/api/opportunities/{await _opportunity(client, admin)}/"
    stale = await client.delete(url, headers={**admin.headers, "If-Match": '"9"'})
    assert stale.status_code == 412
    assert (await client.get(url, headers=admin.headers)).status_code == 200
    done = await client.delete(url, headers={**admin.headers, "If-Match": '"1"'})
    assert done.status_code == 204


async def test_another_orgs_record_answers_404_not_412(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """A stale tag must not confirm that someone else's record exists."""
    owner, intruder = await factory.admin(), await factory.admin()
    url = f"/api/opportunities/{await _opportunity(client, owner)}/"
    response = await client.patch(
        url, json={"probability": 1}, headers={**intruder.headers, "If-Match": '"9"'}
    )
    assert response.status_code == 404
    assert "ETag" not in response.headers


# -- the race ----------------------------------------------------------------------------


@pytest.fixture
def own_database_url() -> Iterator[str]:
    with fresh_database_url() as url:
        yield url


@pytest.fixture
async def committing_client(
    own_database_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """Requests that really commit, side by side (the usual harness shares one connection)."""
    settings = Settings(
        database_url=own_database_url, secret_key=TEST_SECRET, data_dir=tmp_path, redis_url=""
    )
    database = Database.from_settings(settings)
    app = create_app(
        settings, database=database, counter=MemoryCounter(), dispatcher=RecordingDispatcher()
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
    finally:
        await database.dispose()


INCREMENTS = 50


async def test_concurrent_guarded_increments_lose_nothing(
    committing_client: httpx.AsyncClient,
) -> None:
    """Each client reads the record and writes the value it read plus one, guarded by the
    ETag it read; a 412 sends it back to read again. All 50 start together. (Through the
    /api/crm surface, whose reads are the lightest: the race is the same on both.)"""
    client = committing_client
    admin = await Factory(client).admin()
    opportunity = await _opportunity(client, admin)
    url = f"/api/crm/opportunity/{opportunity}"
    set_zero = await client.patch(url, json={"probability": 0}, headers=admin.headers)
    assert set_zero.status_code == 200, set_zero.text
    refused = 0

    async def increment() -> None:
        nonlocal refused
        for attempt in range(1000):
            read = await client.get(url, headers=admin.headers)
            assert read.status_code == 200, read.text
            value = read.json()["probability"]
            headers = {**admin.headers, "If-Match": read.headers["ETag"]}
            write = await client.patch(url, json={"probability": value + 1}, headers=headers)
            if write.status_code == 200:
                return
            assert write.status_code == 412, write.text
            refused += 1
            # Back off (exponential, jittered), as a real client would, so the losers do not
            # all collide again on the next version.
            await asyncio.sleep(random.uniform(0, 0.1 * 2 ** min(attempt, 6)))
        raise AssertionError("never got a write in")

    await asyncio.gather(*(increment() for _ in range(INCREMENTS)))
    final = await client.get(url, headers=admin.headers)
    assert final.json()["probability"] == INCREMENTS
    # Version 1 at creation, 2 after the reset, then one per increment.
    assert final.headers["ETag"] == f'"{INCREMENTS + 2}"'
    # The writers really overlapped: some were told their read was stale.
    assert refused > 0
