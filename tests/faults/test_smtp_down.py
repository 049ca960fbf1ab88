"""The SMTP server down: e-mail sent through the API stays queued (with its attempts and
next attempt time) while the server is down, and is sent exactly once when it returns,
by the real server's own sweep loop (``crm serve`` with a short CRM_EMAIL_SWEEP_SECONDS).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from crm.core.config import Settings
from crm.core.db import Database
from crm.core.tenancy import unscoped
from crm.models import OutboundEmail
from tests.conftest import TEST_SECRET
from tests.emails.smtp_server import smtp_server
from tests.faults.processes import crm_env, crm_server, free_port, seed

pytestmark = pytest.mark.faults

SWEEP_SECONDS = 0.5
RETRY_SECONDS = 1.0  # the first back-off; each next one doubles


async def _row(database: Database, email_id: uuid.UUID) -> OutboundEmail:
    async with database.sessionmaker() as session:
        with unscoped(session):
            row = await session.get(OutboundEmail, email_id)
    assert row is not None
    return row


async def _wait_for(
    database: Database, email_id: uuid.UUID, *, attempts: int, bound: float
) -> OutboundEmail:
    deadline = time.monotonic() + bound
    while True:
        row = await _row(database, email_id)
        if row.attempts >= attempts and row.status != "sending":
            return row
        assert time.monotonic() < deadline, (row.status, row.attempts)
        await asyncio.sleep(0.1)


async def test_mail_waits_for_the_smtp_server_and_is_sent_exactly_once(
    committing_url: str, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens here: the SMTP server is down
    env = crm_env(
        committing_url,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=str(port),
        email_sweep_seconds=str(SWEEP_SECONDS),
        email_retry_seconds=str(RETRY_SECONDS),
    )
    reader = Database.from_settings(
        Settings(database_url=committing_url, secret_key=TEST_SECRET, data_dir=tmp_path)
    )
    try:
        with crm_server(env, tmp_path) as (base, server):
            seeded = await asyncio.to_thread(seed, base)
            async with httpx.AsyncClient(base_url=base, headers=seeded.headers, timeout=30) as http:
                account = await http.post("/api/accounts/", json={"name": "Acme"})
                assert account.status_code == 201, account.text
                account_id = account.json()["id"]
                sent = await http.post(
                    f"/api/accounts/{account_id}/create_mail/",
                    json={"recipients": ["cfo@client.example"], "subject": "Renewal"},
                )
                assert sent.status_code == 201, sent.text
                email_id = uuid.UUID(sent.json()["email_id"])

                # Down: tried, failed, queued again for later; and again on the next try.
                first = await _wait_for(reader, email_id, attempts=1, bound=15)
                assert first.status == "queued"
                assert "SMTP unavailable" in (first.last_error or "")
                assert first.claimed_at is not None
                assert first.scheduled_at > first.claimed_at  # the next attempt, backed off
                second = await _wait_for(reader, email_id, attempts=2, bound=15)
                assert second.status == "queued"
                assert second.scheduled_at - second.claimed_at > (
                    first.scheduled_at - first.claimed_at
                )  # the back-off grows
                detail = (await http.get(f"/api/accounts/{account_id}/")).json()
                assert [e["status"] for e in detail["emails"]] == ["queued"]

                # Back up on the same port: the server's sweep sends it, once.
                with smtp_server(port) as (inbox, _):
                    back_at = time.monotonic()
                    delivered = await _wait_for(
                        reader, email_id, attempts=second.attempts + 1, bound=30
                    )
                    while delivered.status == "queued":  # one more back-off, at most
                        delivered = await _wait_for(
                            reader, email_id, attempts=delivered.attempts + 1, bound=30
                        )
                    delivered_after = time.monotonic() - back_at
                    await asyncio.sleep(6 * SWEEP_SECONDS)  # sweeps go on: nothing more
                    received = len(inbox.messages)
                    assert received == 1
                assert inbox.messages[0]["Subject"] == "Renewal"
                assert inbox.envelopes[0][1] == ["cfo@client.example"]
                final = await _row(reader, email_id)
                assert (final.status, final.last_error) == ("sent", None)
                assert final.sent_at is not None
                detail = (await http.get(f"/api/accounts/{account_id}/")).json()
                assert [e["status"] for e in detail["emails"]] == ["sent"]
            assert server.alive(), server.output()
    finally:
        await reader.dispose()
    sys.stderr.write(
        f"\n[smtp down] queued through {second.attempts} failed attempts (back-off "
        f"{(first.scheduled_at - first.claimed_at).total_seconds():.1f} s, then "
        f"{(second.scheduled_at - second.claimed_at).total_seconds():.1f} s); sent "
        f"{delivered_after:.1f} s after the server returned, on attempt {final.attempts}; "
        f"{received} message received\n"
    )
