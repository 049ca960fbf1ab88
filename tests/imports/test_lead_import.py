"""Bulk lead import (§6.9) through POST /api/leads/upload/ and the background job."""

from __future__ import annotations

import io
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, update

from crm.app import create_app
from crm.core.clock import utcnow
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.queue import RecordingDispatcher
from crm.core.ratelimit import MemoryCounter
from crm.core.tabular import open_table
from crm.core.tenancy import unscoped
from crm.imports.service import IMPORT_JOB, ImportRunner, batches, check_headers
from crm.models import Lead, LeadImport
from tests.conftest import Factory, Member

GOOD_CSV = "First Name, LAST_NAME ,Email,Status,Probability,Amount\nAda,Lovelace,ada@example.com,assigned,40,1200.50\nAlan,Turing,,in process,,\n"


async def _upload(
    client: httpx.AsyncClient, member: Member, content: bytes, name: str = "leads.csv"
) -> httpx.Response:
    return await client.post(
        "/api/leads/upload/",
        files={"leads_file": (name, content, "text/csv")},
        headers=member.headers,
    )


async def _leads(database: Database, org_id: str) -> list[Lead]:
    async with database.sessionmaker() as session:
        with unscoped(session):
            statement = (
                select(Lead).where(Lead.org_id == uuid.UUID(org_id)).order_by(Lead.last_name)
            )
            return list((await session.execute(statement)).scalars())


async def test_csv_import_matches_headers_loosely(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    response = await _upload(client, admin, GOOD_CSV.encode())
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "success",
        "imported_count": 2,
        "failed_count": 0,
        "errors": [],
    }
    leads = await _leads(test_database, admin.org_id)
    assert [
        (lead.first_name, lead.last_name, lead.email, lead.status, lead.probability)
        for lead in leads
    ] == [
        ("Ada", "Lovelace", "ada@example.com", "assigned", 40),
        ("Alan", "Turing", None, "in process", 0),
    ]
    assert str(leads[0].opportunity_amount) == "1200.50"
    assert leads[0].created_by_id == uuid.UUID(admin.profile_id)


@pytest.mark.parametrize(
    "content",
    [
        "\ufefffirst_name,last_name\nZoë,Ærø\n".encode(),  # UTF-8 with BOM
        "first_name,last_name\nZoë,Ærø\n".encode(),  # UTF-8
        "first_name;last_name\nZoë;Ærø\n".encode("latin-1"),  # Latin-1, semicolons
        "first_name\tlast_name\nZoë\tÆrø\n".encode("latin-1"),  # tabs
    ],
    ids=["utf8-bom", "utf8", "latin1-semicolon", "latin1-tab"],
)
async def test_encodings_and_delimiters(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, content: bytes
) -> None:
    admin = await factory.admin()
    response = await _upload(client, admin, content)
    assert response.status_code == 200, response.text
    assert [
        (lead.first_name, lead.last_name) for lead in await _leads(test_database, admin.org_id)
    ] == [("Zoë", "Ærø")]


async def test_xlsx_import(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Title", "E-mail", "Probability"])
    sheet.append(["Website enquiry", "web@example.com", 25])
    sheet.append([None, None, None])  # blank rows are skipped
    sheet.append(["Second", "not-an-email", 10])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = await _upload(client, admin, buffer.getvalue(), "leads.xlsx")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["imported_count"], body["failed_count"]) == (1, 1)
    assert body["errors"][0]["row"] == 3  # data rows counted from 1; the blank row keeps its number
    assert "email" in body["errors"][0]["errors"]
    assert [lead.title for lead in await _leads(test_database, admin.org_id)] == ["Website enquiry"]


async def test_invalid_rows_are_reported_and_valid_rows_kept(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    content = (
        b"first_name,last_name,email,status,probability\n"
        b"Ada,Lovelace,ada@example.com,assigned,10\n"
        b"NoLast,,x@example.com,assigned,10\n"
        b"Bad,Mail,not-an-email,assigned,10\n"
        b"Conv,Erted,c@example.com,converted,10\n"
        b"Too,Likely,t@example.com,assigned,150\n"
    )
    body = (await _upload(client, admin, content)).json()
    assert (body["imported_count"], body["failed_count"]) == (1, 4)
    rows = {e["row"]: e["errors"] for e in body["errors"]}
    assert set(rows) == {2, 3, 4, 5}
    assert "email" in rows[3]
    assert "status" in rows[4]
    assert "probability" in rows[5]
    assert len(await _leads(test_database, admin.org_id)) == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"first_name,last_name\n,\nonly-first,\n", "no_valid_rows"),
        (b"email,phone\na@example.com,1\n", "missing_headers"),
        (b"", "missing_headers"),
        (bytes(range(256)) * 4, "missing_headers"),
    ],
    ids=["no-valid-rows", "missing-headers", "empty", "binary"],
)
async def test_refused_files_write_nothing(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, content: bytes, code: str
) -> None:
    admin = await factory.admin()
    response = await _upload(client, admin, content)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert "leads_file" in response.json()["errors"]
    assert await _leads(test_database, admin.org_id) == []


async def test_missing_file_is_400(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    response = await client.post("/api/leads/upload/", data={"x": "y"}, headers=admin.headers)
    assert response.status_code == 400
    assert "leads_file" in response.json()["errors"]


def _app(
    settings: Settings, database: Database, dispatcher: RecordingDispatcher, **overrides: Any
) -> Any:
    return create_app(
        settings.model_copy(update=overrides),
        database=database,
        counter=MemoryCounter(),
        dispatcher=dispatcher,
    )


async def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_limits_are_413(
    factory: Factory, settings: Settings, test_database: Database
) -> None:
    admin = await factory.admin()
    big_rows = "first_name,last_name\n" + "A,B\n" * 6
    async with await _client(
        _app(settings, test_database, RecordingDispatcher(), max_import_bytes=64)
    ) as small:
        response = await _upload(small, admin, big_rows.encode() * 4)
        assert response.status_code == 413
    for sync_limit in (10**6, 0):  # the in-request path and the background path
        app = _app(
            settings,
            test_database,
            RecordingDispatcher(),
            max_import_rows=5,
            import_sync_max_bytes=sync_limit,
        )
        async with await _client(app) as capped:
            response = await _upload(capped, admin, big_rows.encode())
            assert response.status_code == 413, response.text
    assert await _leads(test_database, admin.org_id) == []


async def test_large_files_run_as_a_job_with_status(
    factory: Factory, settings: Settings, test_database: Database, data_dir: Path
) -> None:
    admin = await factory.admin()
    dispatcher = RecordingDispatcher()
    app = _app(settings, test_database, dispatcher, import_sync_max_bytes=0, import_batch_rows=2)
    content = (
        "first_name,last_name\n" + "".join(f"F{n},L{n}\n" for n in range(5)) + "Bad,\n"
    ).encode()
    async with await _client(app) as client:
        response = await _upload(client, admin, content)
        assert response.status_code == 202, response.text
        job = response.json()
        assert (job["status"], job["total_rows"], job["imported_count"]) == ("pending", 6, 0)
        assert job["status_url"] == f"/api/leads/upload/{job['job_id']}/"
        assert dispatcher.enqueued == [(IMPORT_JOB, (job["job_id"],))]

        runner = ImportRunner(test_database, app.state.storage, app.state.settings)
        seen: list[int] = []
        assert (
            await runner.run(
                uuid.UUID(job["job_id"]), progress=lambda j: seen.append(j.processed_rows)
            )
            == "done"
        )
        assert seen == [2, 4, 6]
        assert (
            await runner.run(uuid.UUID(job["job_id"])) is None
        )  # done: running it again does nothing

        status = (await client.get(job["status_url"], headers=admin.headers)).json()
        assert (
            status["status"],
            status["processed_rows"],
            status["imported_count"],
            status["failed_count"],
        ) == ("done", 6, 5, 1)
        assert status["errors"][0]["row"] == 6
        assert len(await _leads(test_database, admin.org_id)) == 5

        user = await Factory(client).member_of(admin)
        assert (await client.get(job["status_url"], headers=user.headers)).status_code == 403
        intruder = await Factory(client).admin()
        assert (await client.get(job["status_url"], headers=intruder.headers)).status_code == 404


async def test_a_killed_job_resumes_without_duplicates(
    factory: Factory, settings: Settings, test_database: Database
) -> None:
    admin = await factory.admin()
    app = _app(
        settings, test_database, RecordingDispatcher(), import_sync_max_bytes=0, import_batch_rows=2
    )
    content = ("first_name,last_name\n" + "".join(f"F{n},L{n}\n" for n in range(7))).encode()
    async with await _client(app) as client:
        job_id = uuid.UUID((await _upload(client, admin, content)).json()["job_id"])
    runner = ImportRunner(test_database, app.state.storage, app.state.settings)

    class WorkerKilled(Exception):
        pass

    def die_after_first_batch(job: LeadImport) -> None:
        raise WorkerKilled

    with pytest.raises(WorkerKilled):
        await runner.run(job_id, progress=die_after_first_batch)
    assert len(await _leads(test_database, admin.org_id)) == 2  # the first batch committed
    assert await runner.run(job_id) is None  # still "running" and fresh: nobody takes it over
    async with test_database.sessionmaker() as session:  # ... until it stops reporting
        with unscoped(session):
            await session.execute(
                update(LeadImport)
                .where(LeadImport.id == job_id)
                .values(updated_at=utcnow() - timedelta(hours=1))
            )
        await session.commit()
    recorder = RecordingDispatcher()
    assert await runner.sweep(recorder) == 1
    assert await runner.run(job_id) == "done"
    leads = await _leads(test_database, admin.org_id)
    assert sorted(lead.first_name for lead in leads) == [f"F{n}" for n in range(7)]  # none twice


def test_parsing_50000_rows_streams(tmp_path: Path) -> None:
    """Memory use while reading does not grow with the file (a bound, not a timing)."""
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("first_name,last_name,email,city,description\n")
        for n in range(50_000):
            handle.write(f"First{n},Last{n},user{n}@example.com,City {n % 100},{'x' * 80}\n")
    tracemalloc.start()
    try:
        with open_table(path) as table:
            mapping = check_headers(table)
            total = 0
            for batch in batches(
                table, mapping, org_id=uuid.uuid4(), created_by_id=None, size=1000
            ):
                total += len(batch.leads)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 50_000
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while parsing"


async def test_import_is_counted_by_org(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin, other = await factory.admin(), await factory.admin()
    await _upload(client, admin, GOOD_CSV.encode())
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            count = await session.scalar(
                select(func.count()).select_from(Lead).where(Lead.org_id == uuid.UUID(other.org_id))
            )
    assert count == 0
