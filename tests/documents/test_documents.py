"""Documents (§14) through the HTTP API: the multipart upload and its refusals (title, file,
size limit, sharing), sniffed types and safe names, visibility (§14.3), the list envelope,
filters and statement counts, detail, download, update and delete rules."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm.core.db import Database
from crm.core.storage import LocalStorage
from crm.documents.repository import DocumentRepository
from tests.activity.records import PNG, stored_files
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.shapes import DENIED, MEMBER_BRIEF_KEYS, NOT_FOUND
from tests.sql_count import count_statements

ITEM_KEYS = {
    "id",
    "title",
    "document_file",
    "file_name",
    "content_type",
    "size",
    "status",
    "shared_to",
    "shared_with",
    "teams",
    "org",
    "created_on",
    "created_at",
    "updated_at",
    "created_by",
}
CREATOR_KEYS = {"id", "first_name", "last_name", "email"}
LIST_KEYS = {"count", "next", "previous", "results", "users", "teams", "status_choices"}
DETAIL_KEYS = {"doc_obj", "shared_to", "shared_with", "file_type"}
TEXT = b"Quarterly numbers, first draft.\n"


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def storage_dir(tmp_path: Path) -> Path:
    return tmp_path / "documents"


@pytest.fixture
def app(app: Any, storage_dir: Path) -> Any:
    """The app storing files in this test's own directory, to look into."""
    app.state.storage = LocalStorage(storage_dir)
    return app


@pytest.fixture
def small_uploads(app: Any) -> Any:
    """The app with a 1000-byte upload limit."""
    app.state.settings = app.state.settings.model_copy(update={"max_upload_bytes": 1000})
    return app


@pytest.fixture
async def admin(factory: Factory) -> Member:
    return await factory.admin()


# -- helpers -----------------------------------------------------------------------------------


def _title() -> str:
    return f"Doc {uuid.uuid4().hex[:8]}"


async def _post(
    client: httpx.AsyncClient,
    member: Member,
    *,
    title: str | None = None,
    content: bytes | None = TEXT,
    name: str = "notes.txt",
    client_type: str = "text/plain",
    field: str = "document_file",
    **data: Any,
) -> httpx.Response:
    """POST /api/documents/ as a multipart form (urlencoded when no file is sent)."""
    if title is not None:
        data["title"] = title
    files = {field: (name, content, client_type)} if content is not None else None
    return await client.post("/api/documents/", data=data, files=files, headers=member.headers)


async def _create(
    client: httpx.AsyncClient, member: Member, title: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    response = await _post(client, member, title=title or _title(), **kwargs)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _team(
    client: httpx.AsyncClient, admin: Member, users: list[Member] = (), name: str | None = None
) -> str:
    body = {"name": name or f"Team {uuid.uuid4().hex[:8]}", "users": [u.profile_id for u in users]}
    response = await client.post("/api/teams/", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _list(client: httpx.AsyncClient, member: Member, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/documents/", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _detail(client: httpx.AsyncClient, member: Member, doc_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/documents/{doc_id}/", headers=member.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _download(client: httpx.AsyncClient, member: Member, doc_id: str) -> httpx.Response:
    return await client.get(f"/api/documents/{doc_id}/download/", headers=member.headers)


def _field_error(response: httpx.Response, field: str) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] is True
    assert field in body["errors"], body
    return list(body["errors"][field])


def _titles(page: dict[str, Any]) -> list[str]:
    return [item["title"] for item in page["results"]]


# -- create ------------------------------------------------------------------------------------


async def test_upload_returns_the_item(
    client: httpx.AsyncClient, admin: Member, storage_dir: Path
) -> None:
    content = b"%PDF-1.7\n% product specification\n"
    response = await _post(
        client,
        admin,
        title="Product Spec v21",
        content=content,
        name="product_spec_v21.pdf",
        client_type="application/pdf",
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert set(item) == ITEM_KEYS
    assert item["title"] == "Product Spec v21"
    assert item["document_file"] == f"/api/documents/{item['id']}/download/"
    assert (item["file_name"], item["content_type"]) == ("product_spec_v21.pdf", "application/pdf")
    assert item["size"] == len(content)
    assert item["status"] == "active"
    assert item["shared_to"] == item["shared_with"] == item["teams"] == []
    assert item["org"] == admin.org_id
    assert item["created_at"] == item["created_on"]
    assert set(item["created_by"]) == CREATOR_KEYS
    assert (item["created_by"]["id"], item["created_by"]["email"]) == (
        admin.profile_id,
        admin.email,
    )
    assert len(stored_files(storage_dir)) == 1
    assert (await _download(client, admin, item["id"])).content == content


@pytest.mark.parametrize(("sent", "stored"), [("Inactive", "inactive"), (" ACTIVE ", "active")])
async def test_status_is_case_insensitive(
    client: httpx.AsyncClient, admin: Member, sent: str, stored: str
) -> None:
    created = await _create(client, admin, status=sent)
    assert created["status"] == stored
    assert (await _detail(client, admin, created["id"]))["doc_obj"]["status"] == stored


async def test_unknown_status_is_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database, storage_dir: Path
) -> None:
    before = await checksum(test_database)
    for status in ("archived", "activ", "draft"):
        assert _field_error(await _post(client, admin, title=_title(), status=status), "status")
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == []


async def test_title_is_required_and_at_most_255_characters(
    client: httpx.AsyncClient, admin: Member, test_database: Database, storage_dir: Path
) -> None:
    before = await checksum(test_database)
    assert _field_error(await _post(client, admin), "title")
    assert _field_error(await _post(client, admin, title="   "), "title")
    assert _field_error(await _post(client, admin, title="x" * 256), "title")
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == []
    assert (await _create(client, admin, "x" * 255))["title"] == "x" * 255


async def test_titles_are_unique_per_org_case_insensitively(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    test_database: Database,
    storage_dir: Path,
) -> None:
    await _create(client, admin, "Product Spec")
    before = await checksum(test_database)
    response = await _post(client, admin, title="  product SPEC ")
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": True,
            "errors": {"title": ["Document already exists with this title"]},
            "code": "document_title_taken",
        },
    )
    assert await checksum(test_database) == before
    assert len(stored_files(storage_dir)) == 1
    other = await factory.admin()
    assert (await _create(client, other, "Product Spec"))["org"] == other.org_id


async def test_titles_clash_beyond_ascii_case(
    client: httpx.AsyncClient, admin: Member, test_database: Database, storage_dir: Path
) -> None:
    await _create(client, admin, "Étude")
    before = await checksum(test_database)
    response = await _post(client, admin, title="ÉTUDE")
    assert response.json()["code"] == "document_title_taken"
    assert _field_error(response, "title")
    assert await checksum(test_database) == before
    assert len(stored_files(storage_dir)) == 1


async def _never_taken(*_args: Any, **_kwargs: Any) -> bool:
    return False


async def test_a_lost_title_race_on_upload_leaves_no_file(
    client: httpx.AsyncClient,
    admin: Member,
    monkeypatch: pytest.MonkeyPatch,
    test_database: Database,
    storage_dir: Path,
) -> None:
    """Two uploads with one title at once: the check passes for both, and the unique index
    refuses the second after its file was stored; that file is removed again."""
    await _create(client, admin, "Board minutes")
    before = await checksum(test_database)
    files = stored_files(storage_dir)
    monkeypatch.setattr(DocumentRepository, "title_taken", _never_taken)
    response = await _post(client, admin, title="BOARD minutes")
    assert (response.status_code, response.json()["code"]) == (409, "duplicate")
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == files


async def test_a_lost_title_race_on_update_leaves_no_file(
    client: httpx.AsyncClient,
    admin: Member,
    monkeypatch: pytest.MonkeyPatch,
    test_database: Database,
    storage_dir: Path,
) -> None:
    """The same race on an update that replaces the file: refused as a conflict, the new
    file removed, the old one kept."""
    await _create(client, admin, "Board minutes")
    other = await _create(client, admin, "Other minutes")
    before = await checksum(test_database)
    files = stored_files(storage_dir)
    monkeypatch.setattr(DocumentRepository, "title_taken", _never_taken)
    response = await client.patch(
        f"/api/documents/{other['id']}/",
        data={"title": "board MINUTES"},
        files={"document_file": ("new.txt", b"new minutes")},
        headers=admin.headers,
    )
    assert (response.status_code, response.json()["code"]) == (409, "duplicate")
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == files
    assert (await _download(client, admin, other["id"])).content == TEXT


async def test_a_file_is_required(
    client: httpx.AsyncClient, admin: Member, test_database: Database, storage_dir: Path
) -> None:
    before = await checksum(test_database)
    no_file = await _post(client, admin, title=_title(), content=None)
    wrong_field = await _post(client, admin, title=_title(), field="attachment")
    # A browser's empty file input (a nameless, empty part) is no file at all.
    nameless = await _post(client, admin, title=_title(), content=b"", name="")
    for response in (no_file, wrong_field, nameless):
        assert response.json()["code"] == "document_file_missing"
        assert _field_error(response, "document_file") == ["Upload the file as document_file"]
    empty = await _post(client, admin, title=_title(), content=b"", name="empty.txt")
    assert empty.json()["code"] == "empty_document"
    assert _field_error(empty, "document_file")
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == []


async def test_the_file_may_come_as_file(client: httpx.AsyncClient, admin: Member) -> None:
    created = await _create(client, admin, field="file", content=b"a,b\n1,2\n", name="t.csv")
    assert (created["file_name"], created["content_type"]) == ("t.csv", "text/csv")
    assert (await _download(client, admin, created["id"])).content == b"a,b\n1,2\n"


async def test_upload_limit(
    client: httpx.AsyncClient,
    admin: Member,
    small_uploads: Any,
    test_database: Database,
    storage_dir: Path,
) -> None:
    exact = await _create(client, admin, content=b"\x00" * 1000, name="a.bin")
    assert exact["size"] == 1000
    before = await checksum(test_database)
    files_before = stored_files(storage_dir)
    over = await _post(client, admin, title=_title(), content=b"\x00" * 1001, name="b.bin")
    assert over.status_code == 413, over.text
    assert over.json()["code"] == "payload_too_large"
    # Far over: refused on the declared length, before the body is read.
    huge = await _post(client, admin, title=_title(), content=b"\x00" * 200_000, name="c.bin")
    assert huge.status_code == 413, huge.text
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == files_before  # no partial file left behind


# -- sharing on create -------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["repeated", "json", "comma"])
async def test_shared_to_takes_every_list_encoding(
    client: httpx.AsyncClient, factory: Factory, admin: Member, encoding: str
) -> None:
    first, second = await factory.member_of(admin), await factory.member_of(admin)
    ids = [first.profile_id, second.profile_id]
    sent: Any = {"repeated": ids, "json": json.dumps(ids), "comma": " , ".join(ids)}[encoding]
    created = await _create(client, admin, shared_to=sent)
    assert sorted(created["shared_to"]) == sorted(ids)
    for sharee in (first, second):
        assert _titles(await _list(client, sharee)) == [created["title"]]


@pytest.mark.parametrize("key", ["shared_with", "teams"])
async def test_teams_are_taken_as_shared_with_or_teams(
    client: httpx.AsyncClient, admin: Member, key: str
) -> None:
    sales, support = (
        await _team(client, admin, name="Sales"),
        await _team(client, admin, name="Ops"),
    )
    created = await _create(client, admin, **{key: [sales, support]})
    assert sorted(created["shared_with"]) == sorted([sales, support])
    assert created["teams"] == created["shared_with"]


async def test_shared_to_must_name_active_members_of_the_org(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    test_database: Database,
    storage_dir: Path,
) -> None:
    member = await factory.member_of(admin)
    stranger = await factory.admin()
    before = await checksum(test_database)
    for bad in (str(uuid.uuid4()), stranger.profile_id):
        response = await _post(client, admin, title=_title(), shared_to=[member.profile_id, bad])
        assert _field_error(response, "shared_to") == [
            f"Not active members of this organization: {bad}"
        ]
    assert _field_error(await _post(client, admin, title=_title(), shared_to="bob"), "shared_to")
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == []


async def test_shared_with_must_name_teams_of_the_org(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    test_database: Database,
    storage_dir: Path,
) -> None:
    mine = await _team(client, admin)
    stranger = await factory.admin()
    theirs = await _team(client, stranger)
    before = await checksum(test_database)
    for bad in (theirs, str(uuid.uuid4())):
        response = await _post(client, admin, title=_title(), shared_with=[mine, bad])
        assert _field_error(response, "shared_with") == [f"Not teams of this organization: {bad}"]
    assert (await _post(client, admin, title=_title(), teams=theirs)).status_code == 400
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == []


# -- what is stored: type and name -------------------------------------------------------------


async def test_content_type_is_sniffed_not_trusted(
    client: httpx.AsyncClient, admin: Member
) -> None:
    png = await _create(client, admin, content=PNG, name="x.txt", client_type="text/plain")
    assert png["content_type"] == "image/png"
    served = await _download(client, admin, png["id"])
    assert (served.headers["content-type"], served.content) == ("image/png", PNG)

    page = b"<html><script>alert(document.cookie)</script></html>"
    html = await _create(client, admin, content=page, name="cat.png", client_type="image/png")
    assert html["content_type"] == "text/plain"
    served = await _download(client, admin, html["id"])
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["content-disposition"].startswith("attachment;")

    blob = await _create(client, admin, content=b"MZ\x90\x00\x03\x00\xff", name="x.pdf")
    assert blob["content_type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("sent", "kept", "file_type"),
    [
        ("../../etc/passwd", "passwd", ""),
        ("C:\\Users\\me\\..\\Report.TXT", "Report.TXT", "txt"),
        ("/var/www/.htaccess", "htaccess", ""),
        ("spec.v2.pdf", "spec.v2.pdf", "pdf"),
    ],
)
async def test_file_names_are_sanitised(
    client: httpx.AsyncClient, admin: Member, sent: str, kept: str, file_type: str
) -> None:
    created = await _create(client, admin, name=sent)
    assert created["file_name"] == kept
    detail = await _detail(client, admin, created["id"])
    assert (detail["doc_obj"]["file_name"], detail["file_type"]) == (kept, file_type)
    served = await _download(client, admin, created["id"])
    assert served.headers["content-disposition"] == (
        f"attachment; filename=\"{kept}\"; filename*=UTF-8''{kept}"
    )


# -- visibility (§14.3) ------------------------------------------------------------------------


async def test_an_admin_sees_every_document_of_the_org(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    other_admin = await factory.member_of(admin, role="ADMIN")
    await _create(client, admin, "Mine")
    await _create(client, user, "Private draft", status="inactive")
    await _create(client, user, "Private final")
    await _create(client, await factory.admin(), "Elsewhere")
    for caller in (admin, other_admin):
        page = await _list(client, caller)
        assert sorted(_titles(page)) == ["Mine", "Private draft", "Private final"]
        assert page["count"] == 3


async def test_a_user_sees_own_shared_and_team_documents(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    colleague = await factory.member_of(admin)
    team = await _team(client, admin, [user, colleague])
    other_team = await _team(client, admin, [colleague])
    own = await _create(client, user, "Own draft", status="inactive")
    to_me = await _create(client, admin, "To me", shared_to=user.profile_id)
    to_team = await _create(client, colleague, "To my team", shared_with=team)
    await _create(client, admin, "Hidden")
    await _create(client, colleague, "To another team", shared_with=other_team)
    await _create(client, admin, "To a colleague", shared_to=colleague.profile_id)
    page = await _list(client, user)
    assert sorted(_titles(page)) == ["Own draft", "To me", "To my team"]
    assert page["count"] == 3
    for document in (own, to_me, to_team):
        assert (await _detail(client, user, document["id"]))["doc_obj"]["id"] == document["id"]
        assert (await _download(client, user, document["id"])).content == TEXT


async def test_an_inactive_shared_document_is_hidden_from_the_sharee(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    creator = await factory.member_of(admin)
    sharee = await factory.member_of(admin)
    team = await _team(client, admin, [sharee])
    doc = await _create(
        client, creator, "Shelved", status="inactive", shared_to=sharee.profile_id, teams=team
    )
    assert (await _list(client, sharee))["results"] == []
    detail = await client.get(f"/api/documents/{doc['id']}/", headers=sharee.headers)
    assert (detail.status_code, detail.json()) == (403, DENIED)
    download = await _download(client, sharee, doc["id"])
    assert (download.status_code, download.json()) == (403, DENIED)
    assert _titles(await _list(client, creator)) == ["Shelved"]

    activated = await client.patch(
        f"/api/documents/{doc['id']}/", json={"status": "Active"}, headers=creator.headers
    )
    assert activated.status_code == 200, activated.text
    assert _titles(await _list(client, sharee)) == ["Shelved"]
    assert (await _download(client, sharee, doc["id"])).content == TEXT


async def test_another_orgs_document_is_not_found(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    test_database: Database,
    storage_dir: Path,
) -> None:
    doc = await _create(client, admin)
    intruder = await factory.admin()
    before = await checksum(test_database)
    files = stored_files(storage_dir)
    url = f"/api/documents/{doc['id']}/"
    for method, path, body in [
        ("GET", url, None),
        ("GET", f"{url}download/", None),
        ("PUT", url, {"title": "Taken over"}),
        ("PATCH", url, {"status": "inactive"}),
        ("DELETE", url, None),
        ("GET", f"/api/documents/{uuid.uuid4()}/", None),
        ("GET", f"/api/documents/{uuid.uuid4()}/download/", None),
    ]:
        response = await client.request(method, path, json=body, headers=intruder.headers)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, path)
    upload = await client.patch(
        url, files={"document_file": ("x.txt", b"mine now")}, headers=intruder.headers
    )
    assert (upload.status_code, upload.json()) == (404, NOT_FOUND)
    assert (await _list(client, intruder))["count"] == 0
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == files


async def test_a_hidden_document_is_forbidden(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    test_database: Database,
    storage_dir: Path,
) -> None:
    bystander = await factory.member_of(admin)
    doc = await _create(client, admin)
    before = await checksum(test_database)
    files = stored_files(storage_dir)
    url = f"/api/documents/{doc['id']}/"
    for method, path, body in [
        ("GET", url, None),
        ("GET", f"{url}download/", None),
        ("PUT", url, {"title": "Mine"}),
        ("PATCH", url, {"shared_to": [bystander.profile_id]}),
        ("DELETE", url, None),
    ]:
        response = await client.request(method, path, json=body, headers=bystander.headers)
        assert (response.status_code, response.json()) == (403, DENIED), (method, path)
    upload = await client.put(
        url,
        data={"title": "Replaced"},
        files={"document_file": ("x.txt", b"replaced")},
        headers=bystander.headers,
    )
    assert (upload.status_code, upload.json()) == (403, DENIED)
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == files


# -- list --------------------------------------------------------------------------------------


async def test_list_envelope_newest_first_and_paged(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    team = await _team(client, admin, [user], name="Writers")
    for title in ("First", "Second", "Third"):
        await _create(client, admin, title)
    page = await _list(client, admin)
    assert set(page) == LIST_KEYS
    assert _titles(page) == ["Third", "Second", "First"]
    assert (page["count"], page["next"], page["previous"]) == (3, None, None)
    assert all(set(item) == ITEM_KEYS for item in page["results"])
    assert page["status_choices"] == ["active", "inactive"]
    assert page["teams"] == [{"id": team, "name": "Writers"}]
    assert all(set(u) == MEMBER_BRIEF_KEYS for u in page["users"])
    assert {u["id"] for u in page["users"]} == {admin.profile_id, user.profile_id}

    # A new document shows at once: the cached page is not served after a write.
    await _create(client, admin, "Fourth")
    assert _titles(await _list(client, admin)) == ["Fourth", "Third", "Second", "First"]

    first = await _list(client, admin, limit=2)
    assert _titles(first) == ["Fourth", "Third"]
    assert first["next"] == "/api/documents/?limit=2&offset=2"
    second = await _list(client, admin, limit=2, offset=2)
    assert _titles(second) == ["Second", "First"]
    assert (second["next"], second["previous"]) == (None, "/api/documents/?limit=2&offset=0")


async def test_list_filters(client: httpx.AsyncClient, factory: Factory, admin: Member) -> None:
    ann, bob = await factory.member_of(admin), await factory.member_of(admin)
    team = await _team(client, admin, [ann])
    await _create(client, admin, "Product SPEC", shared_to=ann.profile_id)
    await _create(client, admin, "spec sheet", status="inactive", shared_with=team)
    await _create(client, admin, "Price list", shared_to=[ann.profile_id, bob.profile_id])
    await _create(client, admin, "Roadmap", shared_to=bob.profile_id, shared_with=team)

    async def titles(**params: Any) -> list[str]:
        return sorted(_titles(await _list(client, admin, **params)))

    assert await titles(title="SPEC") == ["Product SPEC", "spec sheet"]
    assert await titles(title="e l") == ["Price list"]
    assert await titles(status="inactive") == ["spec sheet"]
    assert await titles(status="ACTIVE") == ["Price list", "Product SPEC", "Roadmap"]
    assert await titles(shared_with=team) == ["Roadmap", "spec sheet"]
    assert await titles(shared_to=bob.profile_id) == ["Price list", "Roadmap"]
    assert await titles(shared_to=f"{ann.profile_id},{bob.profile_id}") == [
        "Price list",
        "Product SPEC",
        "Roadmap",
    ]
    assert await titles(shared_to=f'["{ann.profile_id}", "{bob.profile_id}"]') == [
        "Price list",
        "Product SPEC",
        "Roadmap",
    ]
    assert await titles(title="spec", status="active", shared_to=ann.profile_id) == ["Product SPEC"]
    assert await titles(shared_with=str(uuid.uuid4())) == []
    bad_status = await client.get(
        "/api/documents/", params={"status": "archived"}, headers=admin.headers
    )
    assert _field_error(bad_status, "status")
    bad_id = await client.get("/api/documents/", params={"shared_to": "bob"}, headers=admin.headers)
    assert _field_error(bad_id, "shared_to")


async def test_list_statement_count_does_not_grow_with_the_page(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    members = [await factory.member_of(admin) for _ in range(3)]
    teams = [await _team(client, admin, members[:1]), await _team(client, admin, members[1:])]
    for n in range(8):
        await _create(
            client,
            members[n % 3] if n % 2 else admin,
            f"Doc {n}",
            shared_to=[m.profile_id for m in members[: n % 3 + 1]],
            shared_with=teams[: n % 2 + 1],
        )

    async def statements(limit: int) -> int:
        with count_statements(test_database.engine) as counter:
            page = await _list(client, admin, limit=limit)
        assert len(page["results"]) == min(limit, 8)
        assert all(item["shared_to"] and item["created_by"] for item in page["results"])
        return counter.count

    assert await statements(2) == await statements(100)


# -- detail and download -----------------------------------------------------------------------


async def test_detail_shape(client: httpx.AsyncClient, factory: Factory, admin: Member) -> None:
    sharee = await factory.member_of(admin)
    team = await _team(client, admin, name="Legal")
    created = await _create(
        client,
        admin,
        "Contract",
        content=b"%PDF-1.4\n",
        name="contract.PDF",
        shared_to=sharee.profile_id,
        shared_with=team,
    )
    detail = await _detail(client, sharee, created["id"])
    assert set(detail) == DETAIL_KEYS
    assert detail["doc_obj"] == created
    assert [m["id"] for m in detail["shared_to"]] == [sharee.profile_id]
    assert set(detail["shared_to"][0]) == MEMBER_BRIEF_KEYS
    assert detail["shared_to"][0]["email"] == sharee.email
    assert detail["shared_with"] == [{"id": team, "name": "Legal"}]
    assert detail["file_type"] == "pdf"


async def test_download_serves_the_exact_bytes(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    sharee = await factory.member_of(admin)
    content = bytes(range(256)) * 300  # several storage chunks
    created = await _create(
        client, admin, content=content, name="dump.bin", shared_to=sharee.profile_id
    )
    assert created["size"] == len(content)
    for caller in (admin, sharee):
        response = await _download(client, caller, created["id"])
        assert response.status_code == 200, response.text
        assert response.content == content
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-length"] == str(len(content))
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-disposition"] == (
            "attachment; filename=\"dump.bin\"; filename*=UTF-8''dump.bin"
        )


# -- update ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_admin_creator_and_sharee_may_change(
    client: httpx.AsyncClient, factory: Factory, admin: Member, method: str
) -> None:
    creator = await factory.member_of(admin)
    sharee = await factory.member_of(admin)
    doc = await _create(client, creator, "Draft", shared_to=sharee.profile_id)
    url = f"/api/documents/{doc['id']}/"
    for n, caller in enumerate((admin, creator, sharee)):
        as_json = await client.request(
            method, url, json={"title": f"Draft {n}"}, headers=caller.headers
        )
        assert as_json.status_code == 200, as_json.text
        assert as_json.json()["title"] == f"Draft {n}"
        as_form = await client.request(
            method, url, data={"title": f"Form {n}"}, headers=caller.headers
        )
        assert as_form.status_code == 200, as_form.text
        item = as_form.json()
        assert set(item) == ITEM_KEYS
        # Only the title was sent: the rest stays.
        assert (item["title"], item["status"]) == (f"Form {n}", "active")
        assert item["shared_to"] == [sharee.profile_id]
        assert item["created_by"]["id"] == creator.profile_id
        assert (item["file_name"], item["size"]) == ("notes.txt", len(TEXT))
    assert (await _detail(client, admin, doc["id"]))["doc_obj"]["title"] == "Form 2"


async def test_replacing_the_file(
    client: httpx.AsyncClient, factory: Factory, admin: Member, storage_dir: Path
) -> None:
    sharee = await factory.member_of(admin)
    doc = await _create(client, admin, "Logo", shared_to=sharee.profile_id)
    response = await client.patch(
        f"/api/documents/{doc['id']}/",
        files={"document_file": ("../logo.txt", PNG, "text/plain")},
        headers=sharee.headers,
    )
    assert response.status_code == 200, response.text
    item = response.json()
    assert (item["file_name"], item["content_type"], item["size"]) == (
        "logo.txt",
        "image/png",
        len(PNG),
    )
    assert (item["title"], item["shared_to"]) == ("Logo", [sharee.profile_id])
    served = await _download(client, admin, doc["id"])
    assert (served.content, served.headers["content-length"]) == (PNG, str(len(PNG)))
    assert len(stored_files(storage_dir)) == 1  # the old file is discarded


async def test_changing_the_sharing(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    ann, bob = await factory.member_of(admin), await factory.member_of(admin)
    team_a, team_b = await _team(client, admin, [ann]), await _team(client, admin, [bob])
    doc = await _create(client, admin, shared_to=ann.profile_id, shared_with=team_a)
    url = f"/api/documents/{doc['id']}/"

    moved = await client.put(
        url,
        data={"shared_to": json.dumps([bob.profile_id]), "teams": team_b},
        headers=admin.headers,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["shared_to"], moved.json()["shared_with"]) == ([bob.profile_id], [team_b])
    assert (await _list(client, ann))["results"] == []
    assert _titles(await _list(client, bob)) == [doc["title"]]

    kept = await client.patch(url, json={"status": "inactive"}, headers=admin.headers)
    assert (kept.json()["shared_to"], kept.json()["teams"]) == ([bob.profile_id], [team_b])

    cleared = await client.patch(
        url, json={"shared_to": [], "shared_with": []}, headers=admin.headers
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["shared_to"] == cleared.json()["shared_with"] == []


async def test_team_only_sharees_cannot_change(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    test_database: Database,
    storage_dir: Path,
) -> None:
    member = await factory.member_of(admin)
    team = await _team(client, admin, [member])
    doc = await _create(client, admin, "Team notes", shared_with=team)
    assert (await _detail(client, member, doc["id"]))["doc_obj"]["title"] == "Team notes"
    before = await checksum(test_database)
    files = stored_files(storage_dir)
    url = f"/api/documents/{doc['id']}/"
    for method in ("PUT", "PATCH"):
        as_json = await client.request(method, url, json={"title": "Mine"}, headers=member.headers)
        assert (as_json.status_code, as_json.json()) == (403, DENIED)
        as_form = await client.request(
            method,
            url,
            data={"status": "inactive"},
            files={"document_file": ("x.txt", b"replaced")},
            headers=member.headers,
        )
        assert (as_form.status_code, as_form.json()) == (403, DENIED)
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == files


async def test_refused_updates_change_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    small_uploads: Any,
    test_database: Database,
    storage_dir: Path,
) -> None:
    stranger = await factory.admin()
    await _create(client, admin, "Budget 2024")
    doc = await _create(client, admin, "Budget 2025")
    url = f"/api/documents/{doc['id']}/"
    before = await checksum(test_database)
    files = stored_files(storage_dir)

    taken = await client.patch(url, json={"title": "BUDGET 2024"}, headers=admin.headers)
    assert taken.json()["code"] == "document_title_taken"
    assert _field_error(taken, "title")
    taken_with_file = await client.put(
        url,
        data={"title": "budget 2024"},
        files={"document_file": ("b.txt", b"new")},
        headers=admin.headers,
    )
    assert taken_with_file.json()["code"] == "document_title_taken"
    assert _field_error(
        await client.patch(url, json={"status": "gone"}, headers=admin.headers), "status"
    )
    assert _field_error(
        await client.patch(url, json={"title": " "}, headers=admin.headers), "title"
    )
    foreign = await client.patch(
        url, data={"shared_to": stranger.profile_id, "title": "Moved"}, headers=admin.headers
    )
    assert _field_error(foreign, "shared_to")
    empty = await client.patch(
        url, data={"title": "Emptied"}, files={"file": ("e.txt", b"")}, headers=admin.headers
    )
    assert empty.json()["code"] == "empty_document"
    too_big = await client.patch(
        url,
        data={"title": "Bigger"},
        files={"document_file": ("big.bin", b"\x00" * 1001)},
        headers=admin.headers,
    )
    assert too_big.status_code == 413, too_big.text
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == files
    assert (await _download(client, admin, doc["id"])).content == TEXT

    # Its own title in another case is no clash.
    renamed = await client.patch(url, json={"title": "BUDGET 2025"}, headers=admin.headers)
    assert (renamed.status_code, renamed.json()["title"]) == (200, "BUDGET 2025")


# -- delete ------------------------------------------------------------------------------------


@pytest.mark.parametrize("deleter", ["creator", "admin"])
async def test_creator_or_admin_deletes(
    client: httpx.AsyncClient, factory: Factory, admin: Member, storage_dir: Path, deleter: str
) -> None:
    creator = await factory.member_of(admin)
    sharee = await factory.member_of(admin)
    team = await _team(client, admin, [sharee])
    doc = await _create(client, creator, shared_to=sharee.profile_id, shared_with=team)
    keep = await _create(client, creator, "Kept")
    url = f"/api/documents/{doc['id']}/"
    caller = creator if deleter == "creator" else admin
    response = await client.delete(url, headers=caller.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    for member in (admin, creator, sharee):
        missing = await client.get(url, headers=member.headers)
        assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
        gone = await _download(client, member, doc["id"])
        assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    assert _titles(await _list(client, creator)) == ["Kept"]
    assert len(stored_files(storage_dir)) == 1  # only the kept document's file
    assert (await _download(client, creator, keep["id"])).content == TEXT
    again = await client.delete(url, headers=caller.headers)
    assert again.status_code == 404


async def test_sharees_cannot_delete(
    client: httpx.AsyncClient,
    factory: Factory,
    admin: Member,
    test_database: Database,
    storage_dir: Path,
) -> None:
    creator = await factory.member_of(admin)
    sharee = await factory.member_of(admin)
    team_member = await factory.member_of(admin)
    team = await _team(client, admin, [team_member])
    doc = await _create(client, creator, shared_to=sharee.profile_id, shared_with=team)
    before = await checksum(test_database)
    files = stored_files(storage_dir)
    for member in (sharee, team_member):
        response = await client.delete(f"/api/documents/{doc['id']}/", headers=member.headers)
        assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before
    assert stored_files(storage_dir) == files
    assert (await _download(client, sharee, doc["id"])).content == TEXT
