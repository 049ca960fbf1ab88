"""Account counts kept by the database (``account_counts``, ``crm.models.record_counts``).

An admin's account list filtered by nothing but status, and an admin's dashboard, sum the
rows the triggers append instead of counting the accounts. After creates, status changes,
other changes, deletes, lead conversions and another org's writes, those sums must equal
an exact count over ``accounts``, before and after the rows are folded.
"""

from __future__ import annotations

import uuid
from collections import Counter

import httpx
from sqlalchemy import delete, func, select

from crm.core.db import Database
from crm.core.tenancy import unscoped
from crm.models import Account, AccountCount
from tests.conftest import Factory, Member
from tests.leads.kit import create_lead
from tests.records.counts import count_rows, fold_org


async def _create(client: httpx.AsyncClient, member: Member, **body: str) -> str:
    body.setdefault("name", f"Acct {uuid.uuid4().hex[:8]}")
    response = await client.post("/api/accounts/", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _exact(database: Database, org_id: str) -> Counter[str]:
    async with database.sessionmaker() as session:
        with unscoped(session):
            rows = await session.execute(
                select(Account.status, func.count())
                .where(Account.org_id == uuid.UUID(org_id))
                .group_by(Account.status)
            )
            return Counter({status: n for status, n in rows})


async def _listed(
    client: httpx.AsyncClient, member: Member, status: str | None = None, **more: str
) -> tuple[int, int]:
    params = {"limit": "1", **more} | ({"status": status} if status else {})
    response = await client.get("/api/accounts/", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["open_accounts_count"], body["closed_accounts_count"]


async def _assert_match(client: httpx.AsyncClient, admin: Member, database: Database) -> None:
    exact = await _exact(database, admin.org_id)
    for status in (None, "open", "closed"):
        expected = tuple(exact[s] if status in (None, s) else 0 for s in ("open", "closed"))
        assert await _listed(client, admin, status) == expected, status
    dashboard = (await client.get("/api/dashboard/", headers=admin.headers)).json()
    accounts = dashboard["accounts"]
    assert (accounts["open_accounts"], accounts["closed_accounts"]) == (
        exact["open"],
        exact["closed"],
    )


async def test_account_counts_follow_every_kind_of_write(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    other = await factory.admin()
    ids = [await _create(client, admin, status=s) for s in ("open", "open", "closed", "open")]
    await _create(client, other)
    await _assert_match(client, admin, test_database)

    async def patch(account_id: str, **body: str) -> None:
        response = await client.patch(
            f"/api/accounts/{account_id}/", json=body, headers=admin.headers
        )
        assert response.status_code == 200, response.text

    await patch(ids[0], status="closed")
    await patch(ids[2], status="open")
    await patch(ids[1], description="not the status")
    gone = await client.delete(f"/api/accounts/{ids[3]}/", headers=admin.headers)
    assert gone.status_code == 204, gone.text
    tag = uuid.uuid4().hex[:6]
    await create_lead(  # a conversion creates an account
        client, admin, status="converted", account_name=f"Conv {tag}", email=f"c{tag}@ex.com"
    )
    await _assert_match(client, admin, test_database)

    assert await count_rows(test_database, AccountCount, admin.org_id) > 2
    await fold_org(test_database, admin.org_id)
    assert await count_rows(test_database, AccountCount, admin.org_id) <= 2
    await _assert_match(client, admin, test_database)


async def test_only_an_admins_status_list_reads_the_sums(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    await _create(client, admin, name="Kite Works")
    await _create(client, user, name="Kite Labs")
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            session.add(AccountCount(org_id=uuid.UUID(admin.org_id), status="open", n=5))
            await session.commit()
    assert await _listed(client, admin) == (7, 0)
    assert await _listed(client, admin, "open") == (7, 0)
    assert await _listed(client, admin, name="Kite") == (2, 0)  # counted
    assert await _listed(client, user) == (1, 0)  # counted: hers only
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            await session.execute(delete(AccountCount).where(AccountCount.n == 5))
            await session.commit()
    assert await _listed(client, admin) == (2, 0)
