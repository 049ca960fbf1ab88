"""GET /api/{leads,accounts,contacts,opportunities}/export/ (issue 6): CSV and XLSX files of
what the list shows for the same filters, with every formula-like cell neutralised."""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from crm.core import exports
from crm.core.clock import utcnow
from crm.core.db import Database
from crm.core.tenancy import unscoped
from crm.models import Lead
from tests.activity.records import make_record
from tests.conftest import Factory, Member

KINDS = ["leads", "accounts", "contacts", "opportunities"]
KIND = {
    "leads": "lead",
    "accounts": "account",
    "contacts": "contact",
    "opportunities": "opportunity",
}
NAME_COLUMN = {
    "leads": "last_name",
    "accounts": "name",
    "contacts": "last_name",
    "opportunities": "name",
}
# What a client can store (the API strips leading whitespace; tab and CR are tested below).
HOSTILE = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def _xlsx_rows(response: httpx.Response) -> tuple[list[dict[str, Any]], list[Any]]:
    """The rows as dicts, and every cell (to check their types)."""
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    values = list(sheet.iter_rows(values_only=True))
    headers = [str(h) for h in values[0]]
    return [dict(zip(headers, row, strict=True)) for row in values[1:]], cells


async def _export(
    client: httpx.AsyncClient, member: Member, kind: str, **params: Any
) -> httpx.Response:
    response = await client.get(f"/api/{kind}/export/", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    return response


async def _create(client: httpx.AsyncClient, member: Member, kind: str, name: str) -> None:
    """A record through the API whose name column (and the lead's first name / the
    account's industry / the contact's title) holds ``name``."""
    suffix = uuid.uuid4().hex[:8]
    if kind == "leads":
        body: dict[str, Any] = {"first_name": name, "last_name": name, "title": name[:64]}
    elif kind == "accounts":
        body = {"name": name[:64], "industry": name}
    elif kind == "contacts":
        body = {
            "first_name": name,
            "last_name": name,
            "title": name,
            "primary_email": f"c{suffix}@example.com",
        }
    else:
        account = await client.post(
            "/api/accounts/", json={"name": f"Acc {suffix}"}, headers=member.headers
        )
        assert account.status_code == 201, account.text
        body = {"name": name[:64], "account": account.json()["id"]}
    response = await client.post(f"/api/{kind}/", json=body, headers=member.headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("kind", KINDS)
async def test_csv_export_neutralises_formulas(
    client: httpx.AsyncClient, factory: Factory, kind: str
) -> None:
    admin = await factory.admin()
    for n, text in enumerate(HOSTILE):
        await _create(client, admin, kind, f"{text} {n}" if kind != "leads" else text + str(n))
    await _create(client, admin, kind, "Plain Name")
    response = await _export(client, admin, kind)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    today = f"{utcnow():%Y-%m-%d}"
    assert response.headers["content-disposition"] == (
        f"attachment; filename=\"{kind}-{today}.csv\"; filename*=UTF-8''{kind}-{today}.csv"
    )
    rows = _csv_rows(response)
    names = [row[NAME_COLUMN[kind]] for row in rows]
    assert len(names) == len(HOSTILE) + 1
    assert names[0] == "Plain Name"  # newest first
    for name in names:
        assert not name.startswith(("=", "+", "-", "@")), name
    # Every hostile value is there, behind an apostrophe.
    assert sorted(n for n in names if n.startswith("'")) == sorted(
        "'" + (f"{t} {i}" if kind != "leads" else t + str(i))[:64] for i, t in enumerate(HOSTILE)
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_xlsx_export_writes_strings_never_formulas(
    client: httpx.AsyncClient, factory: Factory, kind: str
) -> None:
    admin = await factory.admin()
    for n, text in enumerate(HOSTILE):
        await _create(client, admin, kind, text + str(n))
    response = await _export(client, admin, kind, format="xlsx")
    assert response.headers["content-type"] == XLSX
    assert re.fullmatch(
        rf'attachment; filename="{kind}-\d{{4}}-\d{{2}}-\d{{2}}\.xlsx"; .*',
        response.headers["content-disposition"],
    )
    rows, cells = _xlsx_rows(response)
    assert len(rows) == len(HOSTILE)
    assert all(cell.data_type != "f" for cell in cells)
    names = sorted(str(row[NAME_COLUMN[kind]]) for row in rows)
    assert names == sorted("'" + (t + str(i))[:64] for i, t in enumerate(HOSTILE))
    # The raw sheet holds no formula element at all.
    sheet = zipfile.ZipFile(io.BytesIO(response.content)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet
    assert b"<f " not in sheet


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
async def test_tab_and_carriage_return_are_neutralised_too(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, export_format: str
) -> None:
    """Stored some other way (an import of a quoted cell, an older client): still defused."""
    admin = await factory.admin()
    ids = [await make_record(test_database, admin, "lead") for _ in range(2)]
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            for record_id, text in zip(ids, ["\t=1+1", "\r=2+2"], strict=True):
                await session.execute(
                    update(Lead).where(Lead.id == uuid.UUID(record_id)).values(description=text)
                )
        await session.commit()
    response = await _export(client, admin, "leads", format=export_format)
    if export_format == "csv":
        descriptions = sorted(row["description"] for row in _csv_rows(response))
    else:
        # XML reads a bare CR back as LF: the apostrophe in front is what matters.
        descriptions = sorted(
            str(row["description"]).replace("\n", "\r") for row in _xlsx_rows(response)[0]
        )
    assert descriptions == ["'\t=1+1", "'\r=2+2"]


@pytest.mark.parametrize("kind", KINDS)
async def test_exports_take_the_list_filters(
    client: httpx.AsyncClient, factory: Factory, kind: str
) -> None:
    admin = await factory.admin()
    await _create(client, admin, kind, "Zebra Alpha")
    await _create(client, admin, kind, "Yak Beta")
    response = await _export(client, admin, kind, name="zebra")
    assert [row[NAME_COLUMN[kind]] for row in _csv_rows(response)] == ["Zebra Alpha"]
    listed = await client.get(f"/api/{kind}/", params={"name": "zebra"}, headers=admin.headers)
    assert listed.status_code == 200


@pytest.mark.parametrize("kind", KINDS)
async def test_a_user_exports_only_what_they_may_see_and_never_another_org(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, kind: str
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    other = await factory.member_of(admin)
    mine = await make_record(test_database, admin, KIND[kind], created_by=user)
    assigned = await make_record(test_database, admin, KIND[kind], assigned_to=[user])
    hidden = await make_record(test_database, admin, KIND[kind], created_by=other)
    intruder = await factory.admin()
    theirs = await make_record(test_database, intruder, KIND[kind])
    for export_format in ("csv", "xlsx"):
        as_user = await _export(client, user, kind, format=export_format)
        as_admin = await _export(client, admin, kind, format=export_format)
        as_intruder = await _export(client, intruder, kind, format=export_format)
        rows = (
            _csv_rows
            if export_format == "csv"
            else lambda r: [{k: str(v) for k, v in row.items()} for row in _xlsx_rows(r)[0]]
        )
        ids = {
            name: {row["id"] for row in rows(response)}
            for name, response in (("user", as_user), ("admin", as_admin), ("x", as_intruder))
        }
        assert ids["user"] == {mine, assigned}
        assert ids["admin"] >= {mine, assigned, hidden}
        assert theirs not in ids["admin"] | ids["user"]
        assert ids["x"] == {theirs}


@pytest.mark.parametrize("kind", KINDS)
async def test_the_row_cap_refuses_rather_than_cuts(
    client: httpx.AsyncClient, app: Any, factory: Factory, test_database: Database, kind: str
) -> None:
    admin = await factory.admin()
    for _ in range(3):
        await make_record(test_database, admin, KIND[kind])
    app.state.settings = app.state.settings.model_copy(update={"max_export_rows": 2})
    response = await client.get(f"/api/{kind}/export/", headers=admin.headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "export_too_large"
    assert (await client.get(f"/api/{kind}/export/?name=zzz", headers=admin.headers)).is_success


@pytest.mark.parametrize("kind", KINDS)
async def test_a_bad_format_or_filter_is_400(
    client: httpx.AsyncClient, factory: Factory, kind: str
) -> None:
    admin = await factory.admin()
    response = await client.get(f"/api/{kind}/export/?format=pdf", headers=admin.headers)
    assert response.status_code == 400, response.text
    response = await client.get(f"/api/{kind}/export/?assigned_to=nope", headers=admin.headers)
    assert response.status_code == 400, response.text


async def test_chunks_walk_the_order_without_gaps_or_repeats(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keyset chunks of 2 over 7 leads, three of which share one creation time."""
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 2)
    monkeypatch.setattr("crm.records.service.EXPORT_CHUNK_ROWS", 2)
    admin = await factory.admin()
    ids = [await make_record(test_database, admin, "lead") for _ in range(7)]
    same = utcnow() - timedelta(days=1)
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            await session.execute(
                update(Lead)
                .where(Lead.id.in_([uuid.UUID(i) for i in ids[2:5]]))
                .values(created_on=same)
            )
        await session.commit()
    rows = _csv_rows(await _export(client, admin, "leads"))
    exported = [row["id"] for row in rows]
    assert sorted(exported) == sorted(ids)  # each once
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            expected = (
                await session.scalars(
                    select(Lead.id)
                    .where(Lead.org_id == uuid.UUID(admin.org_id))
                    .order_by(Lead.created_on.desc(), Lead.id.desc())
                )
            ).all()
    assert exported == [str(i) for i in expected]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
async def test_a_lead_export_imports_back_unchanged(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, export_format: str
) -> None:
    admin = await factory.admin()
    body = {
        "first_name": "=Ada",
        "last_name": "+Lovelace",
        "title": "@Countess",
        "email": "ada@example.com",
        "phone": "+14155550123",
        "city": "London",
        "description": "-first programmer",
        "status": "in process",
        "source": "call",
        "account_name": "Analytical",
        "opportunity_amount": "1200.50",
        "probability": 40,
        "industry": "Computing",
    }
    created = await client.post("/api/leads/", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    exported = await _export(client, admin, "leads", format=export_format)
    newcomer = await factory.admin()
    name = f"leads.{export_format}"
    response = await client.post(
        "/api/leads/upload/",
        files={"leads_file": (name, exported.content, "application/octet-stream")},
        headers=newcomer.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["imported_count"] == 1
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            originals = {
                lead.org_id: lead
                for lead in (
                    await session.scalars(
                        select(Lead).where(
                            Lead.org_id.in_([uuid.UUID(admin.org_id), uuid.UUID(newcomer.org_id)])
                        )
                    )
                ).all()
            }
    original, imported = originals[uuid.UUID(admin.org_id)], originals[uuid.UUID(newcomer.org_id)]
    for field in body:
        assert getattr(imported, field) == getattr(original, field), field
