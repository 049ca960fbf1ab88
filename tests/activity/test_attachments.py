"""Attachments on every record type (§16): upload, size limit, sniffed types, safe names,
download and delete rules."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest

from tests.activity.records import (
    KIND,
    MODULES,
    PNG,
    add_attachment,
    add_comment,
    database_of,
    make_record,
    stored_files,
)
from tests.contracts.test_routes import checksum
from tests.shapes import DENIED, NOT_FOUND

ATTACHMENT_KEYS = {
    "id",
    "file_name",
    "attachment",
    "file_path",
    "content_type",
    "size",
    "created_on",
    "created_by",
}
STORAGE_KEY = re.compile(r"^[0-9]{4}/[0-9]{2}/[0-9a-f]{32}$")


async def _record(client, owner, module, **kwargs) -> str:
    return await make_record(database_of(client), owner, KIND[module], **kwargs)


def _keys(storage_dir) -> list[str]:
    return [p.relative_to(storage_dir).as_posix() for p in stored_files(storage_dir)]


@pytest.fixture
def small_uploads(app):
    """The app with a 1000-byte upload limit."""
    app.state.settings = app.state.settings.model_copy(update={"max_upload_bytes": 1000})
    return app


# -- upload -----------------------------------------------------------------------------------


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("field", ["attachment", "legacy"])
async def test_upload_a_file(client, factory, storage_dir, module, field):
    admin = await factory.admin()
    record_id = await _record(client, admin, module)
    content = b"name,amount\nacme,100\n"
    form_field = "attachment" if field == "attachment" else f"{KIND[module]}_attachment"
    response = await client.post(
        f"/api/{module}/{record_id}/",
        files={form_field: ("deals.csv", content, "application/x-msdownload")},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    attachment = body["attachment"]
    assert set(attachment) == ATTACHMENT_KEYS | {KIND[module]}
    assert attachment["file_name"] == "deals.csv"
    assert attachment["content_type"] == "text/csv"
    assert attachment["size"] == len(content)
    assert attachment["created_by"] == admin.profile_id
    assert attachment[KIND[module]] == record_id
    path = f"/api/{module}/attachment/{attachment['id']}/"
    assert attachment["attachment"] == attachment["file_path"] == path
    assert body["comment"] is None
    assert body["comments"] == []
    assert body["attachments"] == [attachment]
    keys = _keys(storage_dir)
    assert len(keys) == 1
    assert STORAGE_KEY.match(keys[0]), keys

    download = await client.get(path, headers=admin.headers)
    assert download.status_code == 200, download.text
    assert download.content == content
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-length"] == str(len(content))
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"deals.csv\"; filename*=UTF-8''deals.csv"
    )


async def test_comment_and_file_together(client, factory):
    admin = await factory.admin()
    record_id = await _record(client, admin, "accounts")
    response = await client.post(
        f"/api/accounts/{record_id}/",
        data={"comment": "Signed contract attached"},
        files={"account_attachment": ("contract.pdf", b"%PDF-1.7\n...", "application/pdf")},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["comment"]["comment"] == "Signed contract attached"
    assert body["attachment"]["content_type"] == "application/pdf"
    assert len(body["comments"]) == len(body["attachments"]) == 1


async def test_content_type_is_sniffed_not_trusted(client, factory):
    admin = await factory.admin()
    record_id = await _record(client, admin, "leads")
    png = await add_attachment(
        client, admin, "leads", record_id, name="photo.txt", content=PNG, client_type="text/plain"
    )
    assert png["content_type"] == "image/png"
    served = await client.get(png["attachment"], headers=admin.headers)
    assert served.headers["content-type"] == "image/png"
    assert served.content == PNG

    page = b"<html><script>alert(document.cookie)</script></html>"
    html = await add_attachment(
        client, admin, "leads", record_id, name="cat.png", content=page, client_type="image/png"
    )
    assert html["content_type"] == "text/plain"
    served = await client.get(html["attachment"], headers=admin.headers)
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["content-disposition"].startswith("attachment;")

    blob = await add_attachment(
        client, admin, "leads", record_id, name="x.exe", content=b"MZ\x90\x00\x03\x00\xff"
    )
    assert blob["content_type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("sent", "kept", "disposition"),
    [
        ("../../etc/passwd", "passwd", "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"),
        ("C:\\Users\\me\\..\\report.txt", "report.txt", None),
        (".htaccess", "htaccess", None),
        ("..", "file", None),
        (
            "résumé final.txt",
            "résumé final.txt",
            'attachment; filename="r_sum_ final.txt"; '
            "filename*=UTF-8''r%C3%A9sum%C3%A9%20final.txt",
        ),
    ],
)
async def test_file_names_are_sanitised(client, factory, storage_dir, sent, kept, disposition):
    admin = await factory.admin()
    record_id = await _record(client, admin, "contacts")
    attachment = await add_attachment(client, admin, "contacts", record_id, name=sent)
    assert attachment["file_name"] == kept
    assert all(STORAGE_KEY.match(key) for key in _keys(storage_dir))
    served = await client.get(attachment["attachment"], headers=admin.headers)
    if disposition:
        assert served.headers["content-disposition"] == disposition


async def test_upload_limit(client, factory, small_uploads, storage_dir, test_database):
    admin = await factory.admin()
    record_id = await _record(client, admin, "opportunities")
    url = f"/api/opportunities/{record_id}/"
    exact = await client.post(
        url, files={"attachment": ("a.bin", b"\x00" * 1000)}, headers=admin.headers
    )
    assert exact.status_code == 201, exact.text
    before = await checksum(test_database)
    files_before = _keys(storage_dir)
    over = await client.post(
        url,
        data={"comment": "with a big file"},
        files={"attachment": ("b.bin", b"\x00" * 1001)},
        headers=admin.headers,
    )
    assert over.status_code == 413, over.text
    assert over.json()["code"] == "payload_too_large"
    # Far over: refused on the declared length, before the body is read.
    huge = await client.post(
        url, files={"attachment": ("c.bin", b"\x00" * 200_000)}, headers=admin.headers
    )
    assert huge.status_code == 413, huge.text
    assert await checksum(test_database) == before  # neither the comment nor a row
    assert _keys(storage_dir) == files_before  # no partial file left behind


async def test_chunked_upload_over_the_limit(client, factory, small_uploads, storage_dir):
    """A body sent without Content-Length is cut off at the limit too."""
    admin = await factory.admin()
    record_id = await _record(client, admin, "opportunities")
    boundary = "xyz"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; '
        f'filename="big.bin"\r\n\r\n'
    ).encode()

    async def body():
        yield head
        for _ in range(200):
            yield b"\x00" * 1000
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        f"/api/opportunities/{record_id}/",
        content=body(),
        headers={**admin.headers, "content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413, response.text
    assert stored_files(storage_dir) == []


async def test_empty_and_misplaced_files(client, factory, test_database):
    admin = await factory.admin()
    record_id = await _record(client, admin, "accounts")
    url = f"/api/accounts/{record_id}/"
    before = await checksum(test_database)
    empty = await client.post(url, files={"attachment": ("e.txt", b"")}, headers=admin.headers)
    assert empty.status_code == 400, empty.text
    assert empty.json()["code"] == "empty_attachment"
    wrong_field = await client.post(
        url, files={"lead_attachment": ("a.txt", b"hi")}, headers=admin.headers
    )
    assert wrong_field.status_code == 400, wrong_field.text
    assert wrong_field.json()["code"] == "unexpected_file_field"
    two = await client.post(
        url,
        files=[("attachment", ("a.txt", b"a")), ("account_attachment", ("b.txt", b"b"))],
        headers=admin.headers,
    )
    assert two.status_code == 400, two.text
    file_as_comment = await client.post(
        url, files={"comment": ("c.txt", b"text")}, headers=admin.headers
    )
    assert file_as_comment.status_code == 400, file_as_comment.text
    # A browser's empty file input (a nameless, empty part) is no file at all.
    nothing = await client.post(url, files={"attachment": ("", b"")}, headers=admin.headers)
    assert nothing.status_code == 400, nothing.text
    assert nothing.json()["code"] == "comment_or_attachment_required"
    assert await checksum(test_database) == before


# -- download ----------------------------------------------------------------------------------


async def test_who_may_download(client, factory, test_database):
    admin = await factory.admin()
    assignee = await factory.member_of(admin)
    bystander = await factory.member_of(admin)
    intruder = await factory.admin()
    record_id = await _record(client, admin, "accounts", assigned_to=[assignee])
    attachment = await add_attachment(client, admin, "accounts", record_id, content=b"secret")
    url = attachment["attachment"]
    for caller in (admin, assignee):
        response = await client.get(url, headers=caller.headers)
        assert response.status_code == 200, response.text
        assert response.content == b"secret"
    refused = await client.get(url, headers=bystander.headers)
    assert (refused.status_code, refused.json()) == (403, DENIED)
    hidden = await client.get(url, headers=intruder.headers)
    missing = await client.get(
        f"/api/accounts/attachment/{uuid.uuid4()}/", headers=intruder.headers
    )
    assert (hidden.status_code, hidden.json()) == (404, NOT_FOUND)
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
    no_org = await client.get(url, headers=admin.bearer)
    assert no_org.status_code == 403


async def test_download_of_a_lost_file_is_404(client, factory, storage_dir):
    admin = await factory.admin()
    record_id = await _record(client, admin, "leads")
    attachment = await add_attachment(client, admin, "leads", record_id)
    for path in stored_files(storage_dir):
        path.unlink()
    response = await client.get(attachment["attachment"], headers=admin.headers)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "stored_file_missing"


async def test_large_download_streams_intact(client, factory, storage_dir):
    admin = await factory.admin()
    record_id = await _record(client, admin, "leads")
    content = bytes(range(256)) * 4096  # 1 MiB: many storage chunks
    attachment = await add_attachment(client, admin, "leads", record_id, content=content)
    assert attachment["content_type"] == "application/octet-stream"
    response = await client.get(attachment["attachment"], headers=admin.headers)
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(content).digest()


# -- delete ------------------------------------------------------------------------------------


async def test_uploader_deletes_and_the_file_goes(client, factory, storage_dir, test_database):
    admin = await factory.admin()
    uploader = await factory.member_of(admin)
    colleague = await factory.member_of(admin)
    record_id = await _record(client, admin, "contacts", assigned_to=[uploader, colleague])
    attachment = await add_attachment(client, uploader, "contacts", record_id)
    assert attachment["created_by"] == uploader.profile_id
    url = attachment["attachment"]
    before = await checksum(test_database)
    refused = await client.delete(url, headers=colleague.headers)
    assert (refused.status_code, refused.json()) == (403, DENIED)
    assert await checksum(test_database) == before
    assert len(stored_files(storage_dir)) == 1

    deleted = await client.delete(url, headers=uploader.headers)
    assert deleted.status_code == 204
    assert stored_files(storage_dir) == []
    assert (await client.get(url, headers=admin.headers)).status_code == 404
    listed = await client.post(
        f"/api/contacts/{record_id}/", json={"comment": "x"}, headers=uploader.headers
    )
    assert listed.json()["attachments"] == []


async def test_admin_deletes_anyones_attachment(client, factory, storage_dir):
    admin = await factory.admin()
    uploader = await factory.member_of(admin)
    record_id = await _record(client, admin, "opportunities", created_by=uploader)
    attachment = await add_attachment(client, uploader, "opportunities", record_id)
    response = await client.delete(attachment["attachment"], headers=admin.headers)
    assert response.status_code == 204
    assert stored_files(storage_dir) == []


async def test_another_org_cannot_touch_anything(client, factory, storage_dir, test_database):
    """Every operation on another org's record, comment or file: 404, nothing changes."""
    owner = await factory.admin()
    intruder = await factory.admin()
    record_id = await _record(client, owner, "accounts")
    comment = await add_comment(client, owner, "accounts", record_id)
    attachment = await add_attachment(client, owner, "accounts", record_id)
    files = _keys(storage_dir)
    before = await checksum(test_database)
    requests = [
        ("POST", f"/api/accounts/{record_id}/", {"comment": "x"}),
        ("PUT", f"/api/accounts/comment/{comment['id']}/", {"comment": "x"}),
        ("DELETE", f"/api/accounts/comment/{comment['id']}/", None),
        ("GET", attachment["attachment"], None),
        ("DELETE", attachment["attachment"], None),
    ]
    for method, url, body in requests:
        response = await client.request(method, url, json=body, headers=intruder.headers)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, url)
    upload = await client.post(
        f"/api/accounts/{record_id}/",
        files={"attachment": ("x.txt", b"x")},
        headers=intruder.headers,
    )
    assert (upload.status_code, upload.json()) == (404, NOT_FOUND)
    assert await checksum(test_database) == before
    assert _keys(storage_dir) == files
