"""The tenant guard (crm.core.tenancy) on real sessions: fail closed without an org, scope
every ORM SELECT/UPDATE/DELETE on tenant-owned tables to the bound org, and refuse new rows
of another org."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.db import Database
from crm.core.tenancy import (
    Role,
    TenantContext,
    TenantScopeMissing,
    bind_tenant,
    current_tenant,
    unscoped,
)
from crm.models import Org, Profile, Team, User


def _context(member: Any, role: Role = Role.ADMIN) -> TenantContext:
    return TenantContext(
        org_id=uuid.UUID(member.org_id),
        profile_id=uuid.UUID(member.profile_id),
        user_id=uuid.UUID(member.user_id),
        role=role,
    )


@asynccontextmanager
async def _session(
    database: Database, tenant: TenantContext | None = None
) -> AsyncIterator[AsyncSession]:
    async with database.sessionmaker() as session:
        if tenant is not None:
            bind_tenant(session, tenant)
        yield session


async def _profiles_by_org(database: Database) -> dict[uuid.UUID, set[uuid.UUID]]:
    async with _unscoped_session(database) as session:
        rows = (await session.execute(select(Profile.id, Profile.org_id))).all()
    result: dict[uuid.UUID, set[uuid.UUID]] = {}
    for profile_id, org_id in rows:
        result.setdefault(org_id, set()).add(profile_id)
    return result


@asynccontextmanager
async def _unscoped_session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.sessionmaker() as session:
        with unscoped(session):
            yield session


@pytest.fixture
async def two_orgs(factory: Any) -> tuple[Any, Any]:
    """Org A with an admin and one USER member; org B with an admin only."""
    admin_a = await factory.admin()
    await factory.member_of(admin_a)
    admin_b = await factory.admin()
    return admin_a, admin_b


async def _make_team(client: Any, member: Any, name: str) -> str:
    response = await client.post("/api/teams/", json={"name": name}, headers=member.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# -- fail closed ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [Team, Profile])
async def test_query_on_tenant_table_without_org_raises(
    test_database: Database, model: Any
) -> None:
    async with _session(test_database) as session:
        with pytest.raises(TenantScopeMissing):
            await session.execute(select(model))


async def test_column_select_without_org_raises(test_database: Database) -> None:
    async with _session(test_database) as session:
        with pytest.raises(TenantScopeMissing):
            await session.execute(select(Profile.id))
        with pytest.raises(TenantScopeMissing):
            await session.execute(select(func.count(Profile.id)))


async def test_count_select_from_without_org_raises(test_database: Database) -> None:
    async with _session(test_database) as session:
        with pytest.raises(TenantScopeMissing):
            await session.execute(select(func.count()).select_from(Profile))


async def test_join_to_tenant_table_without_org_raises(test_database: Database) -> None:
    async with _session(test_database) as session:
        with pytest.raises(TenantScopeMissing):
            await session.execute(select(User.email).join(Profile, Profile.user_id == User.id))


async def test_update_and_delete_without_org_raise(test_database: Database) -> None:
    async with _session(test_database) as session:
        with pytest.raises(TenantScopeMissing):
            await session.execute(update(Profile).values(alternate_phone="+100"))
        with pytest.raises(TenantScopeMissing):
            await session.execute(delete(Team))


async def test_unscoped_block_allows_cross_org_reads(
    test_database: Database, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, admin_b = two_orgs
    async with _session(test_database) as session:
        with unscoped(session):
            org_ids = set((await session.execute(select(Profile.org_id))).scalars())
        assert {uuid.UUID(admin_a.org_id), uuid.UUID(admin_b.org_id)} <= org_ids
        # The permission ends with the block.
        with pytest.raises(TenantScopeMissing):
            await session.execute(select(Profile))


async def test_unscoped_blocks_nest(test_database: Database) -> None:
    async with _session(test_database) as session:
        with unscoped(session):
            with unscoped(session):
                await session.execute(select(Team))
            # Still inside the outer block.
            await session.execute(select(Team))
        with pytest.raises(TenantScopeMissing):
            await session.execute(select(Team))


async def test_new_tenant_row_without_org_raises_on_flush(
    test_database: Database, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, _ = two_orgs
    async with _session(test_database) as session:
        session.add(Team(name="orphan", org_id=uuid.UUID(admin_a.org_id)))
        with pytest.raises(TenantScopeMissing):
            await session.flush()


async def test_non_tenant_tables_are_not_blocked(
    test_database: Database, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, admin_b = two_orgs
    async with _session(test_database) as session:
        emails = set((await session.execute(select(User.email))).scalars())
        orgs = set((await session.execute(select(Org.id))).scalars())
        await session.execute(
            update(User).where(User.email == admin_a.email).values(first_name="Renamed")
        )
    assert {admin_a.email, admin_b.email} <= emails
    assert {uuid.UUID(admin_a.org_id), uuid.UUID(admin_b.org_id)} <= orgs


# -- scoping -------------------------------------------------------------------------------


async def test_bound_select_returns_only_that_orgs_rows(
    test_database: Database, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, admin_b = two_orgs
    org_a, org_b = uuid.UUID(admin_a.org_id), uuid.UUID(admin_b.org_id)
    expected = await _profiles_by_org(test_database)
    assert len(expected[org_a]) == 2
    assert len(expected[org_b]) == 1

    async with _session(test_database, _context(admin_a)) as session:
        profiles = (await session.execute(select(Profile))).scalars().all()
        ids = set((await session.execute(select(Profile.id))).scalars())
        # An explicit filter on the other org finds nothing rather than the other org's rows.
        other = (
            (await session.execute(select(Profile).where(Profile.org_id == org_b))).scalars().all()
        )
        by_pk = await session.get(Profile, uuid.UUID(admin_b.profile_id))
    assert {p.id for p in profiles} == expected[org_a]
    assert {p.org_id for p in profiles} == {org_a}
    assert ids == expected[org_a]
    assert other == []
    assert by_pk is None

    async with _session(test_database, _context(admin_b)) as session:
        ids_b = set((await session.execute(select(Profile.id))).scalars())
    assert ids_b == expected[org_b]


async def test_bound_count_of_column_is_scoped(
    test_database: Database, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, admin_b = two_orgs
    async with _session(test_database, _context(admin_a)) as session:
        count_a = (await session.execute(select(func.count(Profile.id)))).scalar_one()
    async with _session(test_database, _context(admin_b)) as session:
        count_b = (await session.execute(select(func.count(Profile.id)))).scalar_one()
    assert (count_a, count_b) == (2, 1)


async def test_bound_count_select_from_is_scoped(
    test_database: Database, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, admin_b = two_orgs
    async with _session(test_database, _context(admin_a)) as session:
        count_a = (await session.execute(select(func.count()).select_from(Profile))).scalar_one()
    async with _session(test_database, _context(admin_b)) as session:
        count_b = (await session.execute(select(func.count()).select_from(Profile))).scalar_one()
    assert (count_a, count_b) == (2, 1)


async def test_bound_join_from_global_table_is_scoped(
    test_database: Database, two_orgs: tuple[Any, Any]
) -> None:
    """Selecting a global entity joined to a tenant table still only sees the bound org."""
    admin_a, admin_b = two_orgs
    async with _session(test_database, _context(admin_a)) as session:
        emails = set(
            (await session.execute(select(User.email).join(Profile, Profile.user_id == User.id)))
            .scalars()
            .all()
        )
    assert admin_a.email in emails
    assert admin_b.email not in emails


async def test_bound_update_is_scoped(test_database: Database, two_orgs: tuple[Any, Any]) -> None:
    admin_a, admin_b = two_orgs
    async with _session(test_database, _context(admin_a)) as session:
        result = await session.execute(
            update(Profile)
            .values(alternate_phone="+15550000000")
            .execution_options(synchronize_session=False)
        )
        assert result.rowcount == 2
        await session.commit()
    async with _unscoped_session(test_database) as session:
        rows = dict((await session.execute(select(Profile.id, Profile.alternate_phone))).all())
    assert rows[uuid.UUID(admin_a.profile_id)] == "+15550000000"
    assert rows[uuid.UUID(admin_b.profile_id)] is None


async def test_bound_delete_is_scoped(
    test_database: Database, client: Any, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, admin_b = two_orgs
    team_a = await _make_team(client, admin_a, "alpha")
    team_b = await _make_team(client, admin_b, "beta")
    async with _session(test_database, _context(admin_a)) as session:
        result = await session.execute(delete(Team).execution_options(synchronize_session=False))
        assert result.rowcount == 1
        await session.commit()
    async with _unscoped_session(test_database) as session:
        remaining = {str(t) for t in (await session.execute(select(Team.id))).scalars()}
    assert team_a not in remaining
    assert team_b in remaining
    # And org B still sees its team through the API.
    response = await client.get(f"/api/teams/{team_b}/", headers=admin_b.headers)
    assert response.status_code == 200


async def test_bound_cannot_read_other_orgs_row_by_id(
    test_database: Database, client: Any, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, admin_b = two_orgs
    team_b = uuid.UUID(await _make_team(client, admin_b, "beta"))
    async with _session(test_database, _context(admin_a)) as session:
        assert await session.get(Team, team_b) is None
        found = (await session.execute(select(Team).where(Team.id == team_b))).scalars().all()
    assert found == []


async def test_new_row_of_another_org_raises_on_flush(
    test_database: Database, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, admin_b = two_orgs
    async with _session(test_database, _context(admin_a)) as session:
        session.add(Team(name="intruder", org_id=uuid.UUID(admin_b.org_id)))
        with pytest.raises(TenantScopeMissing):
            await session.flush()


async def test_new_row_without_org_gets_the_bound_org(
    test_database: Database, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, _ = two_orgs
    async with _session(test_database, _context(admin_a)) as session:
        team = Team(name="defaulted")
        session.add(team)
        await session.flush()
        assert team.org_id == uuid.UUID(admin_a.org_id)
        same_org = Team(name="explicit", org_id=uuid.UUID(admin_a.org_id))
        session.add(same_org)
        await session.flush()


async def test_session_cannot_be_rebound_to_another_org(
    test_database: Database, two_orgs: tuple[Any, Any]
) -> None:
    admin_a, admin_b = two_orgs
    async with _session(test_database, _context(admin_a)) as session:
        # Binding the same org again (e.g. a second dependency) is fine.
        bind_tenant(session, _context(admin_a, Role.USER))
        with pytest.raises(TenantScopeMissing):
            bind_tenant(session, _context(admin_b))
        tenant = current_tenant(session)
        assert tenant is not None
        assert tenant.org_id == uuid.UUID(admin_a.org_id)


def test_tenant_context_is_admin_follows_role() -> None:
    ids = dict(org_id=uuid.uuid4(), profile_id=uuid.uuid4(), user_id=uuid.uuid4())
    assert TenantContext(role=Role.ADMIN, **ids).is_admin
    assert not TenantContext(role=Role.USER, **ids).is_admin
