"""Lead counts kept by the database (``lead_counts``, ``crm.models.record_counts``).

An admin's lead list filtered by nothing but status and source, and an admin's dashboard,
sum the rows the triggers append instead of counting the leads. After every kind of write
(create, update of status, source or anything else, conversion, delete, CSV import, another
org's writes) those sums must equal an exact count over ``leads``, before and after the
rows are folded.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter

import httpx
import pytest
from sqlalchemy import delete, func, select

from crm.core.db import Database
from crm.core.tenancy import unscoped
from crm.models import Lead, LeadCount
from crm.models import record_counts as lead_counts_module
from tests.conftest import Factory, Member
from tests.leads.kit import create_lead
from tests.records.counts import count_rows, fold_org

STATUS_FILTERS = (None, "assigned", "in process", "recycled", "closed", "converted")
SOURCE_FILTERS = (None, "call", "Email", "web")
OPEN_EXCLUDED = ("closed", "converted")


async def _exact(database: Database, org_id: str) -> Counter[tuple[str, str | None]]:
    """The org's leads per (status, lower-cased source), counted from ``leads``."""
    async with database.sessionmaker() as session:
        with unscoped(session):
            rows = await session.execute(
                select(Lead.status, func.lower(Lead.source), func.count())
                .where(Lead.org_id == uuid.UUID(org_id))
                .group_by(Lead.status, func.lower(Lead.source))
            )
            return Counter({(status, source): n for status, source, n in rows})


def _expected(
    exact: Counter[tuple[str, str | None]], status: str | None, source: str | None
) -> tuple[int, int]:
    chosen = [
        (s, n)
        for (s, src), n in exact.items()
        if s != "converted"
        and (status is None or s == status)
        and (source is None or src == source.lower())
    ]
    return (
        sum(n for s, n in chosen if s not in OPEN_EXCLUDED),
        sum(n for s, n in chosen if s == "closed"),
    )


async def _listed(
    client: httpx.AsyncClient, member: Member, status: str | None, source: str | None, **more: str
) -> tuple[int, int]:
    params = {"limit": "1", **more}
    if status is not None:
        params["status"] = status
    if source is not None:
        params["source"] = source
    response = await client.get("/api/leads/", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["open_leads_count"], body["closed_leads_count"]


async def _assert_lists_match(client: httpx.AsyncClient, admin: Member, db: Database) -> None:
    exact = await _exact(db, admin.org_id)
    dashboard = await client.get("/api/dashboard/", headers=admin.headers)
    assert dashboard.status_code == 200, dashboard.text
    leads = dashboard.json()["leads"]
    assert (leads["open_leads"], leads["closed_leads"]) == _expected(exact, None, None)
    for status, source in itertools.product(STATUS_FILTERS, SOURCE_FILTERS):
        assert await _listed(client, admin, status, source) == _expected(exact, status, source), (
            status,
            source,
        )


async def test_counts_follow_every_kind_of_write(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    other = await factory.admin()
    created = []
    for status, source in [
        ("assigned", "Call"),
        ("assigned", "call"),
        ("in process", "EMAIL"),
        ("recycled", None),
        ("closed", "Web"),
        ("closed", "call"),
        ("assigned", None),
    ]:
        body = {"status": status} | ({"source": source} if source else {})
        created.append(await create_lead(client, admin, **body))
    await create_lead(client, other, status="assigned", source="call")
    await _assert_lists_match(client, admin, test_database)

    async def patch(lead: dict[str, str], **body: str) -> None:
        response = await client.patch(f"/api/leads/{lead['id']}/", json=body, headers=admin.headers)
        assert response.status_code == 200, response.text

    await patch(created[0], status="closed")  # status only
    await patch(created[1], source="Web")  # source only
    await patch(created[2], status="recycled", source="call")  # both
    await patch(created[3], description="neither")  # neither
    await patch(created[4], source="WEB")  # the same source, other case
    tag = uuid.uuid4().hex[:6]
    await patch(
        created[5], status="converted", account_name=f"Counted {tag}", email=f"c{tag}@example.com"
    )
    gone = await client.delete(f"/api/leads/{created[6]['id']}/", headers=admin.headers)
    assert gone.status_code == 204, gone.text
    upload = await client.post(
        "/api/leads/upload/",
        files={
            "leads_file": (
                "leads.csv",
                b"first_name,last_name,status,source\n"
                b"Ada,Lovelace,assigned,Call\nAlan,Turing,closed,email\nGrace,Hopper,,\n",
                "text/csv",
            )
        },
        headers=admin.headers,
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["imported_count"] == 3
    await _assert_lists_match(client, admin, test_database)

    # Folding replaces the rows by one per pair; the sums stay.
    pairs = len(await _exact(test_database, admin.org_id))
    assert await count_rows(test_database, LeadCount, admin.org_id) > pairs
    await fold_org(test_database, admin.org_id)
    assert await count_rows(test_database, LeadCount, admin.org_id) <= pairs
    await _assert_lists_match(client, admin, test_database)
    await fold_org(test_database, admin.org_id)  # folding folded rows changes nothing
    await _assert_lists_match(client, admin, test_database)
    await create_lead(client, admin, status="assigned", source="call")
    await _assert_lists_match(client, admin, test_database)


async def test_writes_fold_now_and_then(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lead_counts_module, "FOLD_AFTER_ROWS", 3)
    monkeypatch.setattr(lead_counts_module, "_written_since_fold", [0])
    admin = await factory.admin()
    for n in range(7):
        await create_lead(client, admin, status="assigned", source=f"s{n % 2}")
    # 7 creates, folded after the 3rd and the 6th: the 2 pairs, plus the 7th's row.
    assert await count_rows(test_database, LeadCount, admin.org_id) == 3
    await _assert_lists_match(client, admin, test_database)


async def test_only_an_admins_status_and_source_list_reads_the_sums(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    """A row added by hand shows where the sums are read, and only there."""
    admin = await factory.admin()
    user = await factory.member_of(admin)
    await create_lead(client, admin, status="assigned", source="call", first_name="Kim")
    await create_lead(client, user, status="assigned", source="call", first_name="Kim")
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            session.add(
                LeadCount(org_id=uuid.UUID(admin.org_id), status="assigned", source_ci="call", n=5)
            )
            await session.commit()
    assert await _listed(client, admin, None, None) == (7, 0)
    dashboard = (await client.get("/api/dashboard/", headers=admin.headers)).json()
    assert dashboard["leads"]["open_leads"] == 7
    assert await _listed(client, admin, "assigned", "CALL") == (7, 0)
    assert await _listed(client, admin, "assigned", "call", name="Kim") == (2, 0)  # counted
    assert await _listed(client, user, "assigned", "call") == (1, 0)  # counted: hers only
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            await session.execute(delete(LeadCount).where(LeadCount.n == 5))
            await session.commit()
    assert await _listed(client, admin, "assigned", "call") == (2, 0)
