"""Comments on every record type (§16): add, edit, delete, and who may do each (§1.3)."""

from __future__ import annotations

import uuid

import pytest

from crm.activity.schemas import COMMENT_MAX_LENGTH
from crm.models import Attachment, Comment
from tests.activity.records import (
    KIND,
    MODULES,
    add_attachment,
    add_comment,
    count_rows,
    database_of,
    delete_record,
    make_record,
)
from tests.contracts.test_routes import checksum
from tests.shapes import DENIED, NOT_FOUND

COMMENT_KEYS = {"id", "comment", "commented_on", "commented_by", "commented_by_email"}


async def _record(client, owner, module, **kwargs) -> str:
    return await make_record(database_of(client), owner, KIND[module], **kwargs)


# -- adding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("module", MODULES)
async def test_add_comment_as_json(client, factory, module):
    admin = await factory.admin()
    record_id = await _record(client, admin, module)
    response = await client.post(
        f"/api/{module}/{record_id}/", json={"comment": "  Called them  "}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"comment", "attachment", "comments", "attachments"}
    comment = body["comment"]
    assert set(comment) == COMMENT_KEYS | {KIND[module]}
    assert comment["comment"] == "Called them"
    assert comment[KIND[module]] == record_id
    assert comment["commented_by"] == admin.profile_id
    assert comment["commented_by_email"] == admin.email
    assert comment["commented_on"].endswith(("Z", "+00:00"))
    assert body["attachment"] is None
    assert body["comments"] == [comment]
    assert body["attachments"] == []


@pytest.mark.parametrize("content", ["multipart", "urlencoded"])
async def test_add_comment_as_a_form(client, factory, content):
    admin = await factory.admin()
    record_id = await _record(client, admin, "leads")
    if content == "multipart":
        # A form without a file; a (None, value) part makes httpx send multipart anyway.
        response = await client.post(
            f"/api/leads/{record_id}/",
            data={"comment": "From a form"},
            files={"extra": (None, "ignored")},
            headers=admin.headers,
        )
    else:
        response = await client.post(
            f"/api/leads/{record_id}/", data={"comment": "From a form"}, headers=admin.headers
        )
    assert response.status_code == 201, response.text
    assert response.json()["comment"]["comment"] == "From a form"


async def test_comments_come_newest_first(client, factory):
    admin = await factory.admin()
    record_id = await _record(client, admin, "accounts")
    for text in ("first", "second", "third"):
        await add_comment(client, admin, "accounts", record_id, text)
    response = await client.post(
        f"/api/accounts/{record_id}/", json={"comment": "fourth"}, headers=admin.headers
    )
    assert [c["comment"] for c in response.json()["comments"]] == [
        "fourth",
        "third",
        "second",
        "first",
    ]


@pytest.mark.parametrize(
    "body", [{}, {"comment": ""}, {"comment": "   "}, {"comment": None}, {"other": "x"}]
)
async def test_add_needs_a_comment_or_a_file(client, factory, body):
    admin = await factory.admin()
    record_id = await _record(client, admin, "contacts")
    response = await client.post(f"/api/contacts/{record_id}/", json=body, headers=admin.headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "comment_or_attachment_required"


async def test_add_with_an_empty_body(client, factory):
    admin = await factory.admin()
    record_id = await _record(client, admin, "contacts")
    response = await client.post(f"/api/contacts/{record_id}/", headers=admin.headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "comment_or_attachment_required"


async def test_comment_length_limit(client, factory, test_database):
    admin = await factory.admin()
    record_id = await _record(client, admin, "accounts")
    longest = "x" * COMMENT_MAX_LENGTH
    ok = await client.post(
        f"/api/accounts/{record_id}/", json={"comment": longest}, headers=admin.headers
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["comment"]["comment"] == longest
    before = await checksum(test_database)
    too_long = await client.post(
        f"/api/accounts/{record_id}/", json={"comment": longest + "x"}, headers=admin.headers
    )
    assert too_long.status_code == 400, too_long.text
    assert set(too_long.json()["errors"]) == {"comment"}
    assert await checksum(test_database) == before


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"comment": ', "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b'["a list"]', "invalid"),
        (b'{"comment": 42}', "invalid"),
        (b'{"comment": ["a"]}', "invalid"),
        (b'{"comment": "nul \\u0000 inside"}', "invalid"),
    ],
)
async def test_malformed_add_bodies_are_400(client, factory, content, code):
    admin = await factory.admin()
    record_id = await _record(client, admin, "leads")
    response = await client.post(
        f"/api/leads/{record_id}/",
        content=content,
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code


async def test_oversized_json_body_is_413(client, factory):
    admin = await factory.admin()
    record_id = await _record(client, admin, "leads")
    response = await client.post(
        f"/api/leads/{record_id}/", json={"comment": "x" * 100_000}, headers=admin.headers
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"


async def test_who_may_comment(client, factory, test_database):
    """Admin, creator or assignee; another member of the org 403; another org 404 (§1.3)."""
    admin = await factory.admin()
    assignee = await factory.member_of(admin)
    creator = await factory.member_of(admin)
    bystander = await factory.member_of(admin)
    intruder = await factory.admin()
    record_id = await _record(
        client, admin, "opportunities", created_by=creator, assigned_to=[assignee]
    )
    url = f"/api/opportunities/{record_id}/"
    for caller in (admin, assignee, creator):
        response = await client.post(url, json={"comment": "mine"}, headers=caller.headers)
        assert response.status_code == 201, response.text
        assert response.json()["comment"]["commented_by"] == caller.profile_id

    before = await checksum(test_database)
    refused = await client.post(url, json={"comment": "no"}, headers=bystander.headers)
    assert (refused.status_code, refused.json()) == (403, DENIED)
    hidden = await client.post(url, json={"comment": "no"}, headers=intruder.headers)
    missing = await client.post(
        f"/api/opportunities/{uuid.uuid4()}/", json={"comment": "no"}, headers=intruder.headers
    )
    assert (hidden.status_code, hidden.json()) == (404, NOT_FOUND)
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
    assert await checksum(test_database) == before


async def test_non_uuid_record_ids_are_never_served(client, factory):
    admin = await factory.admin()
    for path in ("/api/accounts/not-a-uuid/", "/api/leads/1234/"):
        response = await client.post(path, json={"comment": "x"}, headers=admin.headers)
        # 405 when the record module serves other methods on that path.
        assert response.status_code in (404, 405), response.text
    for path in ("/api/accounts/comment/nope/", "/api/leads/attachment/0/"):
        response = await client.delete(path, headers=admin.headers)
        assert (response.status_code, response.json()) == (404, NOT_FOUND)


# -- editing and deleting ----------------------------------------------------------------------


async def test_author_edits_their_comment(client, factory):
    admin = await factory.admin()
    author = await factory.member_of(admin)
    record_id = await _record(client, admin, "leads", assigned_to=[author])
    comment = await add_comment(client, author, "leads", record_id, "draft")
    response = await client.put(
        f"/api/leads/comment/{comment['id']}/", json={"comment": " final "}, headers=author.headers
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited == {**comment, "comment": "final"}
    again = await client.post(
        f"/api/leads/{record_id}/", json={"comment": "more"}, headers=author.headers
    )
    assert edited in again.json()["comments"]


async def test_admin_edits_and_deletes_anyones_comment(client, factory):
    admin = await factory.admin()
    author = await factory.member_of(admin)
    record_id = await _record(client, admin, "contacts", assigned_to=[author])
    comment = await add_comment(client, author, "contacts", record_id)
    url = f"/api/contacts/comment/{comment['id']}/"
    edited = await client.put(url, json={"comment": "moderated"}, headers=admin.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["commented_by"] == author.profile_id  # the author stays the author
    deleted = await client.delete(url, headers=admin.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""


async def test_other_members_may_not_edit_or_delete(client, factory, test_database):
    admin = await factory.admin()
    author = await factory.member_of(admin)
    colleague = await factory.member_of(admin)  # sees the record, but is not the author
    record_id = await _record(client, admin, "accounts", assigned_to=[author, colleague])
    comment = await add_comment(client, author, "accounts", record_id)
    url = f"/api/accounts/comment/{comment['id']}/"
    before = await checksum(test_database)
    put = await client.put(url, json={"comment": "hijacked"}, headers=colleague.headers)
    assert (put.status_code, put.json()) == (403, DENIED)
    delete = await client.delete(url, headers=colleague.headers)
    assert (delete.status_code, delete.json()) == (403, DENIED)
    assert await checksum(test_database) == before
    assert (await client.delete(url, headers=author.headers)).status_code == 204
    gone = await client.delete(url, headers=author.headers)
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("module", MODULES)
async def test_an_author_who_no_longer_sees_the_record_may_not_touch_its_activity(
    client, factory, test_database, module
):
    """Editing or deleting a comment, deleting or downloading a file, all take a caller who
    sees the record (§1.3): once unassigned, the author and uploader get 403 like anyone
    else in the org, and nothing changes."""
    admin = await factory.admin()
    author = await factory.member_of(admin)
    record_id = await _record(client, admin, module, assigned_to=[author])
    comment = await add_comment(client, author, module, record_id, "mine")
    attachment = await add_attachment(client, author, module, record_id)
    comment_url = f"/api/{module}/comment/{comment['id']}/"
    attachment_url = f"/api/{module}/attachment/{attachment['id']}/"
    edited = await client.put(comment_url, json={"comment": "still"}, headers=author.headers)
    assert edited.status_code == 200, edited.text  # while assigned, the author may
    assert (await client.get(attachment_url, headers=author.headers)).status_code == 200
    unassigned = await client.patch(
        f"/api/{module}/{record_id}/", json={"assigned_to": []}, headers=admin.headers
    )
    assert unassigned.status_code == 200, unassigned.text

    before = await checksum(test_database)
    for response in (
        await client.put(comment_url, json={"comment": "late"}, headers=author.headers),
        await client.delete(comment_url, headers=author.headers),
        await client.get(attachment_url, headers=author.headers),
        await client.delete(attachment_url, headers=author.headers),
    ):
        assert (response.status_code, response.json()) == (403, DENIED), response.request
    assert await checksum(test_database) == before
    assert (await client.delete(comment_url, headers=admin.headers)).status_code == 204
    assert (await client.delete(attachment_url, headers=admin.headers)).status_code == 204


async def test_another_orgs_comment_is_not_found(client, factory, test_database):
    admin = await factory.admin()
    intruder = await factory.admin()
    record_id = await _record(client, admin, "opportunities")
    comment = await add_comment(client, admin, "opportunities", record_id)
    before = await checksum(test_database)
    for comment_id in (comment["id"], str(uuid.uuid4())):
        url = f"/api/opportunities/comment/{comment_id}/"
        put = await client.put(url, json={"comment": "x"}, headers=intruder.headers)
        delete = await client.delete(url, headers=intruder.headers)
        assert (put.status_code, put.json()) == (404, NOT_FOUND)
        assert (delete.status_code, delete.json()) == (404, NOT_FOUND)
    assert await checksum(test_database) == before


@pytest.mark.parametrize(
    "body", [{"comment": ""}, {"comment": "  "}, {}, {"comment": "x" * (COMMENT_MAX_LENGTH + 1)}]
)
async def test_edit_needs_a_comment(client, factory, body):
    admin = await factory.admin()
    record_id = await _record(client, admin, "leads")
    comment = await add_comment(client, admin, "leads", record_id)
    response = await client.put(
        f"/api/leads/comment/{comment['id']}/", json=body, headers=admin.headers
    )
    assert response.status_code == 400, response.text
    assert set(response.json()["errors"]) == {"comment"}


async def test_ids_of_another_record_type_are_not_found(client, factory, test_database):
    admin = await factory.admin()
    lead_id = await _record(client, admin, "leads")
    comment = await add_comment(client, admin, "leads", lead_id)
    attachment = await add_attachment(client, admin, "leads", lead_id)
    before = await checksum(test_database)
    for module in ("accounts", "contacts", "opportunities"):
        comment_url = f"/api/{module}/comment/{comment['id']}/"
        attachment_url = f"/api/{module}/attachment/{attachment['id']}/"
        for response in (
            await client.put(comment_url, json={"comment": "x"}, headers=admin.headers),
            await client.delete(comment_url, headers=admin.headers),
            await client.get(attachment_url, headers=admin.headers),
            await client.delete(attachment_url, headers=admin.headers),
        ):
            assert (response.status_code, response.json()) == (404, NOT_FOUND)
        # Nor does a lead id name an account, a contact or an opportunity.
        response = await client.post(
            f"/api/{module}/{lead_id}/", json={"comment": "x"}, headers=admin.headers
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert await checksum(test_database) == before


# -- the parent record ---------------------------------------------------------------------------


@pytest.mark.parametrize("module", MODULES)
async def test_deleting_the_record_deletes_its_activity(client, factory, module):
    admin = await factory.admin()
    database = database_of(client)
    record_id = await _record(client, admin, module)
    kept_id = await _record(client, admin, module)
    await add_comment(client, admin, module, record_id)
    await add_attachment(client, admin, module, record_id)
    await add_comment(client, admin, module, kept_id)
    column = f"{KIND[module]}_id"
    await delete_record(database, admin, KIND[module], record_id)
    assert await count_rows(database, Comment, **{column: record_id}) == 0
    assert await count_rows(database, Attachment, **{column: record_id}) == 0
    assert await count_rows(database, Comment, **{column: kept_id}) == 1
