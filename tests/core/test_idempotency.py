"""Idempotency-Key through HTTP: a retried create returns the first answer and creates
nothing more, also when the two race; another body, path or caller with the same key is
refused; keys are per org (or per API key) and last 24 hours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from crm.app import create_app
from crm.core.clock import utcnow
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.queue import RecordingDispatcher
from crm.core.ratelimit import MemoryCounter
from crm.idempotency.service import IdempotencyStore
from crm.models import IdempotentRequest
from tests.conftest import TEST_SECRET, Factory, Member, fresh_database_url


async def _accounts_named(client: httpx.AsyncClient, member: Member, name: str) -> int:
    listed = await client.get(f"/api/accounts/?name={name}&limit=100", headers=member.headers)
    assert listed.status_code == 200, listed.text
    return int(listed.json()["accounts_count"])


async def test_a_retry_gets_the_first_answer_and_creates_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    headers = {**admin.headers, "Idempotency-Key": "create-acme-1"}
    first = await client.post("/api/accounts/", json={"name": "Acme"}, headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = await client.post("/api/accounts/", json={"name": "Acme"}, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await _accounts_named(client, admin, "Acme") == 1


async def test_a_refusal_is_kept_too(client: httpx.AsyncClient, factory: Factory) -> None:
    """The answer is what is kept, whatever it was: the retry does not run again."""
    admin = await factory.admin()
    headers = {**admin.headers, "Idempotency-Key": "bad-1"}
    first = await client.post("/api/accounts/", json={"name": ""}, headers=headers)
    assert first.status_code == 400
    again = await client.post("/api/accounts/", json={"name": ""}, headers=headers)
    assert (again.status_code, again.json()) == (400, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/accounts/", {"name": "Other body"}),
        ("/api/tags/", {"name": "Acme"}),
    ],
)
async def test_the_same_key_for_another_request_is_refused(
    path: str, body: dict[str, str], client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    headers = {**admin.headers, "Idempotency-Key": "k-1"}
    first = await client.post("/api/accounts/", json={"name": "Acme"}, headers=headers)
    assert first.status_code == 201, first.text
    refused = await client.post(path, json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "idempotency_key_reused"
    assert await _accounts_named(client, admin, "Other") == 0


async def test_keys_belong_to_their_org_and_caller(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    colleague = await factory.member_of(admin, role="ADMIN")
    elsewhere = await factory.admin()
    body = {"name": "Shared"}
    key = {"Idempotency-Key": "same-key"}
    first = await client.post("/api/accounts/", json=body, headers={**admin.headers, **key})
    assert first.status_code == 201
    # Another org: its own key space, so this creates.
    other = await client.post("/api/accounts/", json=body, headers={**elsewhere.headers, **key})
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other.headers
    assert other.json()["id"] != first.json()["id"]
    # Another member of the same org: never handed someone else's answer.
    colleague_try = await client.post(
        "/api/accounts/", json=body, headers={**colleague.headers, **key}
    )
    assert colleague_try.status_code == 422
    assert await _accounts_named(client, admin, "Shared") == 1


async def test_the_erp_surface_answers_in_its_own_error_shape(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    headers = {**admin.headers, "Idempotency-Key": "erp-1"}
    await client.post("/api/accounts/", json={"name": "Acme"}, headers=headers)
    refused = await client.post("/api/crm/opportunity", json={"title": "x"}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "bad\x01key"])
async def test_malformed_keys_are_refused(
    key: str, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    response = await client.post(
        "/api/accounts/",
        json={"name": "Nope"},
        headers={**admin.headers, "Idempotency-Key": key},
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_idempotency_key"
    assert await _accounts_named(client, admin, "Nope") == 0


async def test_keys_last_24_hours(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    headers = {**admin.headers, "Idempotency-Key": "daily"}
    lead = {"title": "Day one", "first_name": "Ada", "last_name": "Lovelace"}
    first = await client.post("/api/leads/", json=lead, headers=headers)
    assert first.status_code == 201
    async with test_database.sessionmaker() as session:
        await session.execute(
            update(IdempotentRequest)
            .where(IdempotentRequest.key == "daily")
            .values(created_at=utcnow() - timedelta(hours=24, seconds=1))
        )
        await session.commit()
    again = await client.post("/api/leads/", json=lead, headers=headers)
    assert again.status_code == 201, again.text
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    # The sweep forgets expired keys.
    async with test_database.sessionmaker() as session:
        await session.execute(
            update(IdempotentRequest).values(created_at=utcnow() - timedelta(days=2))
        )
        await session.commit()
    assert await IdempotencyStore(test_database).prune() >= 1
    async with test_database.sessionmaker() as session:
        left = (await session.execute(select(IdempotentRequest))).scalars().all()
    assert left == []


async def test_requests_without_the_header_are_untouched(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    first = await client.post("/api/accounts/", json={"name": "Dup"}, headers=admin.headers)
    second = await client.post("/api/accounts/", json={"name": "Dup 2"}, headers=admin.headers)
    assert first.json()["id"] != second.json()["id"]


# -- the race ----------------------------------------------------------------------------


@pytest.fixture
def own_database_url() -> Iterator[str]:
    with fresh_database_url() as url:
        yield url


@pytest.fixture
async def committing_client(
    own_database_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
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


async def test_racing_duplicates_create_once(committing_client: httpx.AsyncClient) -> None:
    client = committing_client
    admin = await Factory(client).admin()
    headers = {**admin.headers, "Idempotency-Key": "race"}
    responses = await asyncio.gather(
        *(client.post("/api/accounts/", json={"name": "Racer"}, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == 7
    assert await _accounts_named(client, admin, "Racer") == 1
