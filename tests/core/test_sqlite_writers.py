"""Concurrent writers on the embedded SQLite database: they queue, none fails.

Runs against a database file of its own with committed transactions (the usual test
fixture wraps every request in one rolled-back connection, which hides lock contention).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import httpx

from crm.app import create_app
from crm.core.config import Settings
from crm.core.migrations import upgrade
from crm.core.ratelimit import MemoryCounter
from tests.conftest import TEST_SECRET, Factory


async def test_concurrent_creates_all_succeed() -> None:
    with tempfile.TemporaryDirectory(prefix="crm-writers-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'writers.sqlite3'}"
        await asyncio.to_thread(upgrade, url)
        settings = Settings(
            database_url=url, secret_key=TEST_SECRET, data_dir=Path(tmp), redis_url=""
        )
        app = create_app(settings, counter=MemoryCounter())
        assert app.state.database.write_lock is not None
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                admin = await Factory(client).admin()

                async def create(n: int) -> int:
                    # Each request reads (membership, name check) before it writes: with
                    # deferred transactions, all but the first committer would fail.
                    response = await client.post(
                        "/api/leads/",
                        json={"first_name": "Load", "last_name": f"Lead {n}", "source": "Web"},
                        headers=admin.headers,
                    )
                    return response.status_code

                statuses = await asyncio.gather(*(create(n) for n in range(24)))
                assert statuses == [201] * 24
                listed = await client.get("/api/leads/?limit=1", headers=admin.headers)
                assert listed.json()["leads_count"] == 24
        finally:
            await app.state.database.dispose()
