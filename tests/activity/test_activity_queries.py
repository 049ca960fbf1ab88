"""No N+1: adding to a record and building its activity lists take a constant number of SQL
statements, whatever the number of comments and files. And the service other domains call:
``for_parent`` (detail responses) and ``move`` (lead conversion)."""

from __future__ import annotations

import uuid

from crm.activity.schemas import AccountAttachment, AccountComment, LeadComment
from crm.activity.service import ActivityService
from crm.core.tenancy import Role, TenantContext, bind_tenant
from tests.activity.records import (
    add_attachment,
    add_comment,
    database_of,
    make_record,
)
from tests.conftest import Member
from tests.sql_count import count_statements


def _tenant(member: Member, role: Role = Role.ADMIN) -> TenantContext:
    return TenantContext(
        org_id=uuid.UUID(member.org_id),
        profile_id=uuid.UUID(member.profile_id),
        user_id=uuid.UUID(member.user_id),
        role=role,
    )


async def test_adding_a_comment_takes_constant_statements(client, factory, test_database):
    admin = await factory.admin()
    authors = [await factory.member_of(admin) for _ in range(3)]
    record_id = await make_record(database_of(client), admin, "lead", assigned_to=authors)
    url = f"/api/leads/{record_id}/"

    async def statements() -> int:
        with count_statements(test_database.engine) as counter:
            response = await client.post(url, json={"comment": "counted"}, headers=admin.headers)
        assert response.status_code == 201, response.text
        return counter.count

    await add_comment(client, admin, "leads", record_id)
    few = await statements()
    for n in range(6):
        await add_comment(client, authors[n % 3], "leads", record_id, f"note {n}")
        await add_attachment(client, authors[n % 3], "leads", record_id, name=f"f{n}.txt")
    many = await statements()
    assert few == many, (few, many)


async def test_for_parent_builds_both_lists_in_two_statements(client, factory, test_database):
    admin = await factory.admin()
    author = await factory.member_of(admin)
    database = database_of(client)
    record_id = await make_record(database, admin, "account", assigned_to=[author])
    other_id = await make_record(database, admin, "account")
    for n in range(4):
        await add_comment(client, admin if n % 2 else author, "accounts", record_id, f"c{n}")
        await add_attachment(client, admin, "accounts", record_id, name=f"a{n}.txt")
    await add_comment(client, admin, "accounts", other_id, "elsewhere")

    async with test_database.sessionmaker() as session:
        bind_tenant(session, _tenant(admin))
        service = ActivityService(session, _tenant(admin))
        with count_statements(test_database.engine) as counter:
            comments, attachments = await service.for_parent("account", uuid.UUID(record_id))
    assert counter.count == 2
    assert [c.comment for c in comments] == ["c3", "c2", "c1", "c0"]
    assert all(isinstance(c, AccountComment) for c in comments)
    assert {c.commented_by_email for c in comments} == {admin.email, author.email}
    assert [a.file_name for a in attachments] == ["a3.txt", "a2.txt", "a1.txt", "a0.txt"]
    assert all(isinstance(a, AccountAttachment) for a in attachments)
    assert attachments[0].attachment == f"/api/accounts/attachment/{attachments[0].id}/"


async def test_move_re_points_comments_and_files(client, factory, test_database):
    admin = await factory.admin()
    database = database_of(client)
    lead_id = await make_record(database, admin, "lead")
    account_id = await make_record(database, admin, "account")
    untouched_id = await make_record(database, admin, "lead")
    first = await add_comment(client, admin, "leads", lead_id, "from the lead")
    attachment = await add_attachment(client, admin, "leads", lead_id, content=b"lead file")
    await add_comment(client, admin, "leads", untouched_id, "stays")

    async with test_database.sessionmaker() as session:
        bind_tenant(session, _tenant(admin))
        service = ActivityService(session, _tenant(admin))
        with count_statements(test_database.engine) as counter:
            await service.move("lead", uuid.UUID(lead_id), "account", uuid.UUID(account_id))
        await session.commit()
    assert counter.count == 2  # one UPDATE per table

    response = await client.post(
        f"/api/accounts/{account_id}/", json={"comment": "after conversion"}, headers=admin.headers
    )
    body = response.json()
    moved = body["comments"][1]
    assert moved["id"] == first["id"]
    assert moved["account"] == account_id
    assert "lead" not in moved
    assert [a["id"] for a in body["attachments"]] == [attachment["id"]]
    download = await client.get(body["attachments"][0]["attachment"], headers=admin.headers)
    assert download.content == b"lead file"
    old = await client.get(attachment["attachment"], headers=admin.headers)
    assert old.status_code == 404  # no longer a lead's file

    async with test_database.sessionmaker() as session:
        bind_tenant(session, _tenant(admin))
        service = ActivityService(session, _tenant(admin))
        lead_comments, lead_files = await service.for_parent("lead", uuid.UUID(lead_id))
        kept, _ = await service.for_parent("lead", uuid.UUID(untouched_id))
    assert (lead_comments, lead_files) == ([], [])
    assert [c.comment for c in kept] == ["stays"]
    assert isinstance(kept[0], LeadComment)


async def test_move_stays_inside_the_org(client, factory, test_database):
    owner = await factory.admin()
    intruder = await factory.admin()
    database = database_of(client)
    lead_id = await make_record(database, owner, "lead")
    target_id = await make_record(database, intruder, "account")
    await add_comment(client, owner, "leads", lead_id, "mine")

    async with test_database.sessionmaker() as session:
        bind_tenant(session, _tenant(intruder))
        service = ActivityService(session, _tenant(intruder))
        await service.move("lead", uuid.UUID(lead_id), "account", uuid.UUID(target_id))
        await session.commit()

    async with test_database.sessionmaker() as session:
        bind_tenant(session, _tenant(owner))
        comments, _ = await ActivityService(session, _tenant(owner)).for_parent(
            "lead", uuid.UUID(lead_id)
        )
    assert [c.comment for c in comments] == ["mine"]


async def test_storage_keys_of_records_to_delete(client, factory, test_database, storage_dir):
    admin = await factory.admin()
    database = database_of(client)
    record_id = await make_record(database, admin, "contact")
    await add_attachment(client, admin, "contacts", record_id, name="one.txt")
    await add_attachment(client, admin, "contacts", record_id, name="two.txt")
    async with test_database.sessionmaker() as session:
        bind_tenant(session, _tenant(admin))
        service = ActivityService(session, _tenant(admin))
        keys = await service.storage_keys("contact", [uuid.UUID(record_id)])
    stored = sorted(
        p.relative_to(storage_dir).as_posix() for p in storage_dir.rglob("*") if p.is_file()
    )
    assert sorted(keys) == stored
    assert len(keys) == 2
