"""The Redis-backed pieces against the real Redis on loopback: shared rate counters (login
throttling across workers) and the job broker used when CRM_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from crm.app import create_app
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.queue import build_broker
from crm.core.ratelimit import RedisCounter
from tests.conftest import FakeGoogle

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own, never a real queue


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except OSError as exc:  # the suite needs the Redis server .ci/run starts
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield client
    await client.aclose()


@pytest.fixture
async def counter(redis: Redis) -> AsyncIterator[RedisCounter]:
    prefix = f"crm-test:{uuid.uuid4().hex}:"
    counter = RedisCounter(REDIS_URL, prefix=prefix)
    yield counter
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await counter.close()


async def test_counter_counts_expires_and_resets(counter: RedisCounter) -> None:
    assert (await counter.peek("k")).count == 0
    first = await counter.hit("k", window_seconds=1)
    second = await counter.hit("k", window_seconds=1)
    assert (first.count, second.count) == (1, 2)
    assert 1 <= second.retry_after <= 1
    assert (await counter.peek("k")).count == 2
    await asyncio.sleep(1.2)
    assert (await counter.peek("k")).count == 0  # the window lapsed: nobody stays locked out
    await counter.hit("k", window_seconds=60)
    await counter.reset("k")
    assert (await counter.peek("k")).count == 0


async def test_login_throttle_is_shared_between_workers(
    settings: Settings, test_database: Database, counter: RedisCounter
) -> None:
    """Two app instances (two workers) share one Redis counter: failures add up."""
    limited = settings.model_copy(update={"login_max_failures_per_email": 3})
    apps = [
        create_app(limited, database=test_database, google_verifier=FakeGoogle(), counter=counter)
        for _ in range(2)
    ]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://testserver")
        for a in apps
    ]
    try:
        email = f"shared-{uuid.uuid4().hex[:8]}@example.com"
        registered = await clients[0].post(
            "/api/auth/register/", json={"email": email, "password": "correct horse battery"}
        )
        assert registered.status_code == 201
        statuses = []
        for attempt in range(4):
            response = await clients[attempt % 2].post(
                "/api/auth/login/", json={"email": email, "password": "wrong password"}
            )
            statuses.append(response.status_code)
        assert statuses == [400, 400, 400, 429]
        refused = await clients[1].post(
            "/api/auth/login/", json={"email": email, "password": "correct horse battery"}
        )
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
    finally:
        for client in clients:
            await client.aclose()


async def test_jobs_travel_through_redis(redis: Redis) -> None:
    """With a Redis URL the broker is a Redis queue: a kicked job is a message a worker receives."""
    broker: Any = build_broker(REDIS_URL)
    queue = broker.queue_name

    @broker.task(task_name=f"test.echo.{uuid.uuid4().hex}")
    async def echo(value: str) -> None:
        del value  # only its message is inspected

    await redis.delete(queue)
    await broker.startup()
    try:
        await echo.kiq("hello")
        assert await redis.llen(queue) == 1
        listener = broker.listen()
        message = await asyncio.wait_for(anext(listener), timeout=5)
        payload = message.data if hasattr(message, "data") else message
        task = broker.formatter.loads(payload)
        assert task.task_name == echo.task_name
        assert task.args == ["hello"]
    finally:
        await redis.delete(queue)
        await broker.shutdown()
