"""Imports under faults, on a database that really commits: the importer's PostgreSQL
backend terminated mid-import, and two workers on one job (the first presumed dead).

A batch commits together with the job's progress, so at any instant the committed leads
are a whole number of batches; a worker that loses its connection goes on from the
committed progress; a worker that was presumed dead cannot commit a batch again.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from crm.app import create_app
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.queue import RecordingDispatcher
from crm.core.ratelimit import MemoryCounter
from crm.core.tenancy import unscoped
from crm.imports.service import ImportRunner
from crm.models import Lead, LeadImport
from tests.conftest import TEST_SECRET, Factory
from tests.faults.processes import only_on_postgresql

pytestmark = pytest.mark.faults


@pytest.fixture
def import_log() -> Iterator[list[str]]:
    """What the import worker logs (the app's logging does not propagate to caplog)."""
    messages: list[str] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    recorder = Recorder(logging.WARNING)
    logger = logging.getLogger("crm.imports")
    logger.addHandler(recorder)
    try:
        yield messages
    finally:
        logger.removeHandler(recorder)


def leads_csv(rows: int) -> bytes:
    return ("first_name,last_name\n" + "".join(f"F{n},L{n}\n" for n in range(rows))).encode()


@dataclass
class ImportSetup:
    url: str
    settings: Settings
    database: Database
    runner: ImportRunner
    org_id: uuid.UUID
    job_id: uuid.UUID


@asynccontextmanager
async def queued_import(
    url: str, tmp_path: Path, rows: int, **settings: object
) -> AsyncIterator[ImportSetup]:
    """On a committing database (``url``): an admin, and ``rows`` leads uploaded as an import job
    through the API (the job queued, not yet run)."""
    configured = Settings(
        database_url=url,
        secret_key=TEST_SECRET,
        data_dir=tmp_path,
        redis_url="",
        import_sync_max_bytes=0,
        **settings,  # type: ignore[arg-type]
    )
    database = Database.from_settings(configured)
    try:
        app = create_app(
            configured,
            database=database,
            dispatcher=RecordingDispatcher(),
            counter=MemoryCounter(),
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            admin = await Factory(http).admin()
            response = await http.post(
                "/api/leads/upload/",
                files={"leads_file": ("leads.csv", leads_csv(rows), "text/csv")},
                headers=admin.headers,
            )
            assert response.status_code == 202, response.text
            job_id = uuid.UUID(response.json()["job_id"])
        yield ImportSetup(
            url=url,
            settings=configured,
            database=database,
            runner=ImportRunner(database, app.state.storage, configured),
            org_id=uuid.UUID(admin.org_id),
            job_id=job_id,
        )
    finally:
        await database.dispose()


async def imported(setup: ImportSetup) -> tuple[int, int, LeadImport]:
    """(leads, distinct lead names, the job row) as committed."""
    async with setup.database.sessionmaker() as session:
        with unscoped(session):
            leads, names = (
                await session.execute(
                    select(func.count(Lead.id), func.count(func.distinct(Lead.first_name))).where(
                        Lead.org_id == setup.org_id
                    )
                )
            ).one()
            job = await session.get(LeadImport, setup.job_id)
    assert job is not None
    return int(leads), int(names), job


ROWS = 10_000
BATCH = 100


@only_on_postgresql
async def test_terminated_backend_mid_import_commits_whole_batches_and_resumes(
    committing_url: str, tmp_path: Path, import_log: list[str]
) -> None:
    async with queued_import(committing_url, tmp_path, ROWS, import_batch_rows=BATCH) as setup:
        dsn = make_url(setup.url).set(drivername="postgresql").render_as_string(False)
        seen: dict[str, int] = {}

        async def terminate_the_importer() -> None:
            """From another connection: once a few batches are in, terminate every other
            backend of this database (the importer's, and the idle pooled ones)."""
            killer = await asyncpg.connect(dsn)
            try:
                while True:
                    processed = await killer.fetchval(
                        "SELECT processed_rows FROM lead_imports WHERE id = $1", setup.job_id
                    )
                    if processed >= 3 * BATCH:
                        break
                    await asyncio.sleep(0.005)
                terminated = await killer.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'"
                )
                seen["terminated"] = sum(1 for row in terminated if row[0])
                # What is committed right after the kill: whole batches, matching progress.
                row = await killer.fetchrow(
                    "SELECT j.processed_rows, j.imported_count,"
                    " (SELECT count(*) FROM leads WHERE org_id = j.org_id) AS leads"
                    " FROM lead_imports j WHERE j.id = $1",
                    setup.job_id,
                )
                seen.update(dict(row))
            finally:
                await killer.close()

        killer = asyncio.create_task(terminate_the_importer())
        outcome = await asyncio.wait_for(setup.runner.run(setup.job_id), 120)
        await killer

        assert seen["terminated"] >= 1
        assert 0 < seen["leads"] < ROWS
        assert seen["leads"] % BATCH == 0  # no half batch
        assert seen["leads"] == seen["imported_count"] == seen["processed_rows"]
        # The importer felt it, and went on from the committed progress.
        assert any("lost the database" in m for m in import_log)
        assert outcome == "done"
        leads, names, job = await imported(setup)
        assert (leads, names) == (ROWS, ROWS)  # every row once, none twice
        assert (job.status, job.message) == ("done", None)
        assert (job.processed_rows, job.imported_count, job.failed_count) == (ROWS, ROWS, 0)
        sys.stderr.write(
            f"\n[backend terminated] {seen['terminated']} backends terminated with "
            f"{seen['leads']} rows committed ({seen['leads'] // BATCH} whole batches); "
            f"the import resumed and finished with {leads} leads, {names} distinct\n"
        )


class StallingSessions:
    """A worker's sessions that stall, from its second batch on, until ``resume`` is set:
    a worker paused (swapped out, cut off) long enough to be presumed dead."""

    def __init__(self, database: Database, resume: asyncio.Event) -> None:
        self.sessionmaker = database.sessionmaker
        self.resume = resume
        self.opened = 0

    def __call__(self) -> Any:
        self.opened += 1
        return self._session(stall=self.opened > 2)  # 1: the claim, 2: the first batch

    @asynccontextmanager
    async def _session(self, *, stall: bool) -> AsyncIterator[AsyncSession]:
        if stall:
            await self.resume.wait()
        async with self.sessionmaker() as session:
            yield session


async def test_a_worker_presumed_dead_cannot_commit_a_batch_again(
    committing_url: str, tmp_path: Path, import_log: list[str]
) -> None:
    """The first worker stalls after one batch; its lease runs out and the sweep gives
    the job to a second worker, which commits a batch; then the first comes back while
    the second is still at it. The first's batch progress is conditional on the progress
    it last saw, so its batch rolls back and it stops: no lead is imported twice."""
    rows, batch = 100, 10
    async with queued_import(
        committing_url, tmp_path, rows, import_batch_rows=batch, import_lease_seconds=0.001
    ) as setup:

        def worker(resume: asyncio.Event) -> ImportRunner:
            sessions = StallingSessions(setup.database, resume)
            stalling = Database(engine=setup.database.engine, sessionmaker=sessions)  # type: ignore[arg-type]
            return ImportRunner(stalling, setup.runner.storage, setup.settings)

        first_batch, resume_first, resume_second = (asyncio.Event() for _ in range(3))
        first = asyncio.create_task(
            worker(resume_first).run(setup.job_id, progress=lambda job: first_batch.set())
        )
        await asyncio.wait_for(first_batch.wait(), 30)
        await asyncio.sleep(0.01)  # the first worker's lease (1 ms) has run out
        assert await setup.runner.sweep(RecordingDispatcher()) == 1  # handed on
        second = asyncio.create_task(
            worker(resume_second).run(setup.job_id, progress=lambda job: resume_first.set())
        )
        assert await asyncio.wait_for(first, 30) is None  # came back, found it moved on
        assert any("taken over by another worker" in m for m in import_log)
        resume_second.set()
        assert await asyncio.wait_for(second, 30) == "done"
        leads, names, job = await imported(setup)
        assert (leads, names) == (rows, rows)
        assert (job.status, job.processed_rows, job.imported_count) == ("done", rows, rows)
