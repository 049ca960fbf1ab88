"""Invoice numbers under concurrency: creates racing in one org each draw their own number
from the org's counter (one atomic UPDATE), so none fails and none repeats; on SQLite the
writes queue, on PostgreSQL the counter's row lock orders them.

The usual harness runs every request inside one rolled-back connection, which cannot run
transactions side by side; this test gets a database of its own where requests really
commit."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import Factory


async def test_concurrent_creates_draw_distinct_numbers(
    committing_client: httpx.AsyncClient,
) -> None:
    client = committing_client
    factory = Factory(client)
    admin, other = await factory.admin(), await factory.admin()

    async def create(n: int) -> httpx.Response:
        body = {"invoice_title": f"Race {n}", "name": "Customer", "email": "c@example.com"}
        return await client.post("/api/invoices/", json=body, headers=admin.headers)

    responses = await asyncio.gather(*(create(n) for n in range(12)))
    assert [r.status_code for r in responses] == [201] * 12, [r.text for r in responses]
    numbers = sorted(r.json()["invoice_number"] for r in responses)
    assert numbers == [f"INV-{n:04d}" for n in range(1, 13)]
    listed = await client.get("/api/invoices/?limit=100", headers=admin.headers)
    assert listed.json()["count"] == 12
    # Each org counts on its own.
    body = {"invoice_title": "Elsewhere", "name": "Customer", "email": "c@example.com"}
    elsewhere = await client.post("/api/invoices/", json=body, headers=other.headers)
    assert elsewhere.json()["invoice_number"] == "INV-0001"
