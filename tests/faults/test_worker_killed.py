"""A background worker killed mid-job (SIGKILL: no cleanup runs): the import is taken up
again and finishes with every row exactly once.

Real processes: ``crm serve`` (the API and the sweep) and ``crm worker`` with the Redis
broker, on a queue of this test's own. The killed worker's message is gone with it; the
job row still says "running", and once it has not progressed for CRM_IMPORT_LEASE_SECONDS
the server's sweep hands it to the queue again, where a new worker claims it and resumes
after the last committed batch.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis
from sqlalchemy import func, select

from crm.core.config import Settings
from crm.core.db import Database
from crm.core.tenancy import unscoped
from crm.models import Lead, LeadImport
from tests.conftest import TEST_SECRET
from tests.faults.processes import (
    crm_command,
    crm_env,
    crm_server,
    only_on_postgresql,
    seed,
    start,
)

pytestmark = pytest.mark.faults

REDIS_URL = "redis://127.0.0.1:6379/0"
ROWS = 10_000
BATCH = 25
LEASE_SECONDS = 3


async def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except redis.ConnectionError:
        await client.aclose()
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


async def _progress(database: Database, job_id: uuid.UUID) -> tuple[LeadImport, int, int]:
    """The job row, the org's leads and their distinct names, in one statement (so one
    snapshot: the counts and the progress were committed together)."""
    leads = select(Lead).where(Lead.org_id == LeadImport.org_id).correlate(LeadImport)
    counts = leads.with_only_columns(func.count(Lead.id)).scalar_subquery()
    names = leads.with_only_columns(func.count(func.distinct(Lead.first_name))).scalar_subquery()
    async with database.sessionmaker() as session:
        with unscoped(session):
            job, count, distinct = (
                await session.execute(
                    select(LeadImport, counts, names).where(LeadImport.id == job_id)
                )
            ).one()
    return job, int(count), int(distinct)


@only_on_postgresql
async def test_a_killed_worker_s_import_is_resumed_without_duplicates(
    committing_url: str, tmp_path: Path
) -> None:
    queue = f"crm:test-faults:{uuid.uuid4().hex}"
    broker = await _redis_or_skip()
    env = crm_env(
        committing_url,
        tmp_path,
        redis_url=REDIS_URL,
        job_queue=queue,
        import_lease_seconds=str(LEASE_SECONDS),
        import_batch_rows=str(BATCH),
        import_sync_max_bytes="0",
        email_sweep_seconds="0.5",
    )
    reader = Database.from_settings(
        Settings(database_url=committing_url, secret_key=TEST_SECRET, data_dir=tmp_path)
    )
    workers = []
    try:
        with crm_server(env, tmp_path) as (base, server):
            seeded = await asyncio.to_thread(seed, base)
            first = start([crm_command(), "worker"], env, tmp_path / "worker-1.log")
            workers.append(first)
            content = "first_name,last_name\n" + "".join(f"F{n},L{n}\n" for n in range(ROWS))
            async with httpx.AsyncClient(base_url=base, headers=seeded.headers, timeout=30) as http:
                response = await http.post(
                    "/api/leads/upload/",
                    files={"leads_file": ("leads.csv", content.encode(), "text/csv")},
                )
                assert response.status_code == 202, response.text
                job_id = uuid.UUID(response.json()["job_id"])
                status_url = response.json()["status_url"]

                # Kill the worker once a few batches are in.
                deadline = time.monotonic() + 90
                while (await _progress(reader, job_id))[0].processed_rows < 4 * BATCH:
                    assert first.alive(), first.output()
                    assert time.monotonic() < deadline, first.output()
                    await asyncio.sleep(0.01)
                first.kill()
                killed_at = time.monotonic()
                at_kill, leads_at_kill, _ = await _progress(reader, job_id)
                assert at_kill.status == "running"
                assert 0 < at_kill.processed_rows < ROWS, "killed mid-import"
                assert leads_at_kill % BATCH == 0  # whole batches only
                assert leads_at_kill == at_kill.imported_count == at_kill.processed_rows

                # Nobody works on it now: it stands still, still "running".
                await asyncio.sleep(1)
                still, leads_still, _ = await _progress(reader, job_id)
                assert (still.status, still.processed_rows, leads_still) == (
                    "running",
                    at_kill.processed_rows,
                    leads_at_kill,
                )

                # A new worker; the sweep re-dispatches the job once its lease has run out.
                workers.append(start([crm_command(), "worker"], env, tmp_path / "worker-2.log"))
                seen: list[int] = []
                deadline = time.monotonic() + 120
                while True:
                    job, leads, _ = await _progress(reader, job_id)
                    seen.append(job.processed_rows)
                    assert leads == job.imported_count  # committed together, always
                    if job.status != "running":
                        break
                    assert workers[1].alive(), workers[1].output()
                    assert time.monotonic() < deadline, workers[1].output()
                    await asyncio.sleep(0.05)
                resumed_after = time.monotonic() - killed_at
                assert seen == sorted(seen)  # progress never goes back
                status = (await http.get(status_url)).json()

            job, leads, names = await _progress(reader, job_id)
            assert job.status == "done", job.message
            assert (leads, names) == (ROWS, ROWS)  # every row once, none twice
            assert (job.total_rows, job.processed_rows, job.imported_count, job.failed_count) == (
                ROWS,
                ROWS,
                ROWS,
                0,
            )
            assert (status["status"], status["processed_rows"], status["imported_count"]) == (
                "done",
                ROWS,
                ROWS,
            )
            assert server.alive(), server.output()
    finally:
        for worker in workers:
            worker.stop()
        await reader.dispose()
        await broker.delete(queue)
        await broker.aclose()
    sys.stderr.write(
        f"\n[worker killed] SIGKILL at {at_kill.processed_rows} of {ROWS} rows "
        f"({leads_at_kill // BATCH} whole batches of {BATCH}); a new worker finished the job "
        f"{resumed_after:.1f} s later (lease {LEASE_SECONDS} s): {leads} leads, {names} "
        f"distinct\n"
    )
