"""The §1.3 record rules of crm.core.permissions, on a throwaway model of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, ForeignKey, MetaData, Table, Uuid, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.pool import StaticPool

from crm.core.errors import PermissionDenied, render
from crm.core.permissions import can_see, ensure_admin, ensure_can_delete, visible_to
from crm.core.tenancy import Role, TenantContext


class _Base(DeclarativeBase):
    metadata = MetaData()


note_assignees = Table(
    "note_assignees",
    _Base.metadata,
    Column("note_id", Uuid, ForeignKey("notes.id"), primary_key=True),
    Column("person_id", Uuid, ForeignKey("people.id"), primary_key=True),
)


class Person(_Base):
    __tablename__ = "people"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)


class Note(_Base):
    __tablename__ = "notes"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("people.id"))
    assigned_to: Mapped[list[Person]] = relationship(secondary=note_assignees)


ORG = uuid.uuid4()
ME, OTHER, THIRD = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
# Notes named by how they relate to ME.
MINE = uuid.uuid4()  # created by me
MINE_AND_ASSIGNED = uuid.uuid4()  # created by me and assigned to me (must not appear twice)
ASSIGNED = uuid.uuid4()  # created by OTHER, assigned to me (and THIRD)
FOREIGN = uuid.uuid4()  # created by OTHER, assigned to THIRD
UNOWNED = uuid.uuid4()  # no creator, nobody assigned
ALL_NOTES = {MINE, MINE_AND_ASSIGNED, ASSIGNED, FOREIGN, UNOWNED}


def _tenant(profile_id: uuid.UUID, role: Role) -> TenantContext:
    return TenantContext(org_id=ORG, profile_id=profile_id, user_id=uuid.uuid4(), role=role)


@pytest.fixture
async def notes_db() -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=StaticPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_Base.metadata.create_all)
            await conn.execute(Person.__table__.insert(), [{"id": p} for p in (ME, OTHER, THIRD)])
            await conn.execute(
                Note.__table__.insert(),
                [
                    {"id": MINE, "created_by_id": ME},
                    {"id": MINE_AND_ASSIGNED, "created_by_id": ME},
                    {"id": ASSIGNED, "created_by_id": OTHER},
                    {"id": FOREIGN, "created_by_id": OTHER},
                    {"id": UNOWNED, "created_by_id": None},
                ],
            )
            await conn.execute(
                note_assignees.insert(),
                [
                    {"note_id": MINE_AND_ASSIGNED, "person_id": ME},
                    {"note_id": ASSIGNED, "person_id": ME},
                    {"note_id": ASSIGNED, "person_id": THIRD},
                    {"note_id": FOREIGN, "person_id": THIRD},
                ],
            )
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def _visible(conn: AsyncConnection, tenant: TenantContext) -> list[uuid.UUID]:
    rows = await conn.execute(select(Note.id).where(visible_to(Note, tenant)))
    return list(rows.scalars())


async def test_admin_sees_every_row(notes_db: AsyncConnection) -> None:
    visible = await _visible(notes_db, _tenant(OTHER, Role.ADMIN))
    assert sorted(visible) == sorted(ALL_NOTES)


async def test_user_sees_rows_created_or_assigned_only(notes_db: AsyncConnection) -> None:
    visible = await _visible(notes_db, _tenant(ME, Role.USER))
    assert sorted(visible) == sorted([MINE, MINE_AND_ASSIGNED, ASSIGNED])


async def test_other_users_see_their_own_rows(notes_db: AsyncConnection) -> None:
    assert sorted(await _visible(notes_db, _tenant(OTHER, Role.USER))) == sorted(
        [ASSIGNED, FOREIGN]
    )
    assert sorted(await _visible(notes_db, _tenant(THIRD, Role.USER))) == sorted(
        [ASSIGNED, FOREIGN]
    )


async def test_user_with_nothing_sees_nothing(notes_db: AsyncConnection) -> None:
    assert await _visible(notes_db, _tenant(uuid.uuid4(), Role.USER)) == []


def test_can_see() -> None:
    user = _tenant(ME, Role.USER)
    admin = _tenant(ME, Role.ADMIN)
    assert can_see(ME, [], user)
    assert can_see(OTHER, [THIRD, ME], user)
    assert can_see(OTHER, iter([ME]), user)  # any iterable of ids
    assert not can_see(OTHER, [THIRD], user)
    assert not can_see(None, [], user)
    assert can_see(OTHER, [], admin)
    assert can_see(None, [], admin)


def test_ensure_can_delete() -> None:
    ensure_can_delete(ME, _tenant(ME, Role.USER))
    ensure_can_delete(OTHER, _tenant(ME, Role.ADMIN))
    ensure_can_delete(None, _tenant(ME, Role.ADMIN))
    with pytest.raises(PermissionDenied):
        ensure_can_delete(OTHER, _tenant(ME, Role.USER))
    with pytest.raises(PermissionDenied):
        ensure_can_delete(None, _tenant(ME, Role.USER))


def test_assignee_may_see_but_not_delete() -> None:
    assignee = _tenant(ME, Role.USER)
    assert can_see(OTHER, [ME], assignee)
    with pytest.raises(PermissionDenied):
        ensure_can_delete(OTHER, assignee)


def test_ensure_admin() -> None:
    ensure_admin(_tenant(ME, Role.ADMIN))
    with pytest.raises(PermissionDenied) as caught:
        ensure_admin(_tenant(ME, Role.USER))
    response = render(caught.value)
    assert response.status_code == 403
    assert response.body == (
        b'{"error":true,"errors":"You do not have Permission to perform this action",'
        b'"code":"permission_denied"}'
    )
