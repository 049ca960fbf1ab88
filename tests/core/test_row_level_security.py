"""PostgreSQL row-level security: the second line behind the application's org scoping.

Data of two orgs is made through the API; then, as the role requests run under
(``crm_tenant``), a query with no org set sees nothing at all, and one with an org set sees
that org's rows only, in every tenant table and every link table, and cannot write rows of
another org. A session bound to a tenant really runs its statements that way, so even plain
SQL that escapes the ORM's criteria stays inside the org.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.db import Base, Database
from crm.core.tenancy import TENANT_ROLE, bind_tenant, is_tenant_table
from tests.conftest import Factory, Member

pytestmark = pytest.mark.usefixtures("_postgresql_only")

# Tables that hold no org's records: people, their sessions, the orgs themselves, and the
# idempotency records (keyed by the caller's org or API key, read before authentication binds
# an org, and only ever returned to the caller who made them).
NOT_TENANT_DATA = {"users", "auth_sessions", "orgs", "idempotent_requests"}


@pytest.fixture
def _postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")


# Has an org column but no policy, on purpose: the security audit log is written outside any
# tenant (by its own transaction after the request) and an admin's query of it also returns
# the org-less events (logins) of the org's members; the audit service scopes it.
WITHOUT_ROW_SECURITY = {"security_events"}


def _org_column_tables() -> list[Table]:
    return [
        t
        for t in Base.metadata.sorted_tables
        if "org_id" in t.c and t.name not in WITHOUT_ROW_SECURITY
    ]


def _link_tables() -> list[Table]:
    """Tables with no org of their own whose rows belong to a tenant record."""
    return [
        t
        for t in Base.metadata.sorted_tables
        if "org_id" not in t.c
        and t.name not in NOT_TENANT_DATA
        and any(is_tenant_table(fk.column.table) for fk in t.foreign_keys)
    ]


def test_every_tenant_table_is_a_known_kind() -> None:
    kinds = {t.name for t in (*_org_column_tables(), *_link_tables())}
    kinds |= NOT_TENANT_DATA | WITHOUT_ROW_SECURITY
    assert kinds == {t.name for t in Base.metadata.sorted_tables}


async def test_every_tenant_table_has_row_level_security(
    connection: AsyncConnection,
) -> None:
    rows = await connection.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, count(p.policyname) "
            "FROM pg_class c LEFT JOIN pg_policies p "
            "ON p.tablename = c.relname AND p.schemaname = current_schema() "
            "AND :role = ANY(p.roles) "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
            "GROUP BY c.relname, c.relrowsecurity"
        ),
        {"role": TENANT_ROLE},
    )
    protected = {name for name, enabled, policies in rows if enabled and policies}
    expected = {t.name for t in (*_org_column_tables(), *_link_tables())}
    assert expected - protected == set()


async def _populate(client: httpx.AsyncClient, factory: Factory) -> tuple[Member, Member]:
    """Two orgs, each with linked records (assignees, tags, contacts) and a comment."""
    orgs = []
    for _ in range(2):
        admin = await factory.admin()
        account = await client.post(
            "/api/accounts/",
            json={"name": f"Acct {uuid.uuid4().hex[:6]}", "tags": ["vip"]},
            headers=admin.headers,
        )
        assert account.status_code == 201, account.text
        lead = await client.post(
            "/api/leads/",
            json={
                "title": "Lead",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "assigned_to": [admin.profile_id],
                "tags": ["hot"],
            },
            headers=admin.headers,
        )
        assert lead.status_code == 201, lead.text
        comment = await client.post(
            f"/api/accounts/{account.json()['id']}/",
            json={"comment": "hello"},
            headers=admin.headers,
        )
        assert comment.status_code == 201, comment.text
        orgs.append(admin)
    return orgs[0], orgs[1]


async def _counts(connection: AsyncConnection, tables: list[Table]) -> dict[str, int]:
    counts = {}
    for table in tables:
        result = await connection.execute(text(f'SELECT count(*) FROM "{table.name}"'))  # noqa: S608
        counts[table.name] = result.scalar_one()
    return counts


@pytest.fixture
async def as_tenant_role(connection: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    """The test's connection acting as the role requests use, inside a savepoint."""
    savepoint = await connection.begin_nested()
    await connection.execute(text(f"SET LOCAL ROLE {TENANT_ROLE}"))
    try:
        yield connection
    finally:
        await savepoint.rollback()


async def test_without_an_org_the_tenant_role_sees_nothing(
    client: httpx.AsyncClient, factory: Factory, connection: AsyncConnection
) -> None:
    await _populate(client, factory)
    tables = [*_org_column_tables(), *_link_tables()]
    as_owner = await _counts(connection, tables)
    assert as_owner["leads"] >= 2
    assert as_owner["leads_tags"] >= 2
    savepoint = await connection.begin_nested()
    try:
        await connection.execute(text(f"SET LOCAL ROLE {TENANT_ROLE}"))
        as_tenant = await _counts(connection, tables)
    finally:
        await savepoint.rollback()
    assert as_tenant == dict.fromkeys(as_owner, 0)


async def test_with_an_org_the_tenant_role_sees_that_org_only(
    client: httpx.AsyncClient, factory: Factory, connection: AsyncConnection
) -> None:
    first, second = await _populate(client, factory)
    by_org = text("SELECT count(*) FROM leads WHERE org_id = :org")
    first_leads = (await connection.execute(by_org, {"org": first.org_id})).scalar_one()
    savepoint = await connection.begin_nested()
    try:
        await connection.execute(text(f"SET LOCAL ROLE {TENANT_ROLE}"))
        await connection.execute(
            text("SELECT set_config('crm.org_id', :org, true)"), {"org": first.org_id}
        )
        for table in _org_column_tables():
            orgs = await connection.execute(text(f'SELECT DISTINCT org_id FROM "{table.name}"'))  # noqa: S608
            assert {str(org) for (org,) in orgs} <= {first.org_id}, table.name
        visible = (await connection.execute(text("SELECT count(*) FROM leads"))).scalar_one()
        assert visible == first_leads
        # Link rows are visible with their record only.
        tagged = await connection.execute(
            text("SELECT DISTINCT l.org_id FROM leads_tags t JOIN leads l ON l.id = t.owner_id")
        )
        assert {str(org) for (org,) in tagged} == {first.org_id}
        # Another org's rows can be neither changed nor made.
        changed = await connection.execute(
            text("UPDATE leads SET title = 'taken' WHERE org_id = :org"), {"org": second.org_id}
        )
        assert changed.rowcount == 0
        inner = await connection.begin_nested()
        with pytest.raises(Exception, match="row-level security"):
            await connection.execute(
                text(
                    "INSERT INTO tags (id, org_id, name, created_on, updated_at) "
                    "VALUES (:id, :org, 'planted', now(), now())"
                ),
                {"id": uuid.uuid4(), "org": second.org_id},
            )
        await inner.rollback()
    finally:
        await savepoint.rollback()


async def test_a_tenant_session_runs_inside_its_org(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    """Plain SQL escapes the ORM's org criteria; the database still keeps it in the org."""
    first, second = await _populate(client, factory)
    async with test_database.sessionmaker() as session:
        bind_tenant(session, first.tenant)
        from sqlalchemy import select

        from crm.models import Lead

        await session.execute(select(Lead.id).limit(1))
        who = await session.execute(
            text("SELECT current_user, current_setting('crm.org_id', true)")
        )
        assert tuple(who.one()) == (TENANT_ROLE, first.org_id)
        everyone = await session.execute(text("SELECT DISTINCT org_id FROM leads"))
        assert {str(org) for (org,) in everyone} == {first.org_id}
        await session.commit()
    # The request is over: the connection is itself again.
    async with test_database.sessionmaker() as session:
        who = await session.execute(text("SELECT current_user"))
        assert who.scalar_one() != TENANT_ROLE
        everyone = await session.execute(text("SELECT DISTINCT org_id FROM leads"))
        assert {str(org) for (org,) in everyone} >= {first.org_id, second.org_id}


async def test_a_session_that_only_creates_inserts_as_its_org(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    """A create runs no statement before its INSERT (``POST /api/leads/``): the flush enters
    the policies itself, so the INSERT is checked by them like any other statement."""
    first, _second = await _populate(client, factory)
    from crm.models import Lead

    seen: list[tuple[str, str]] = []
    async with test_database.sessionmaker() as session:
        bind_tenant(session, first.tenant)
        session.add(Lead(first_name="Only", last_name="Insert", status="assigned"))
        await session.flush()
        who = await session.execute(
            text("SELECT current_user, current_setting('crm.org_id', true)")
        )
        seen.append(tuple(who.one()))
        await session.rollback()
    assert seen == [(TENANT_ROLE, first.org_id)]
