"""Cross-cutting HTTP conventions (§1.1, §1.2, §1.4, §1.6): request ids, trailing slashes,
error shapes of the framework's own failures, pagination parameters and links, and the
org-header / org-API-key rules."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from crm.app import create_app
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.ratelimit import MemoryCounter
from tests.shapes import NOT_FOUND

SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


async def _team(client: httpx.AsyncClient, admin: Any, name: str) -> dict[str, Any]:
    response = await client.post("/api/teams/", json={"name": name}, headers=admin.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def small_pages_client(
    settings: Settings, test_database: Database, google: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings.model_copy(update={"max_page_size": 2}),
        database=test_database,
        google_verifier=google,
        counter=MemoryCounter(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


# -- X-Request-ID ---------------------------------------------------------------------------


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient, factory: Any) -> None:
    admin = await factory.admin()
    responses = {
        200: await client.get("/api/org/", headers=admin.bearer),
        201: await client.post("/api/teams/", json={"name": "ids"}, headers=admin.headers),
        204: await client.post("/api/auth/logout/", headers=(await factory.user()).bearer),
        400: await client.post("/api/auth/register/", json={"email": "x"}),
        401: await client.get("/api/org/"),
        403: await client.get("/api/profile/", headers=admin.bearer),
        404: await client.get("/api/no-such-thing/"),
        405: await client.delete("/api/auth/login/"),
    }
    seen = set()
    for status, response in responses.items():
        assert response.status_code == status, response.text
        request_id = response.headers.get("X-Request-ID")
        assert request_id is not None, status
        assert SAFE_ID.match(request_id), request_id
        seen.add(request_id)
    assert len(seen) == len(responses)  # a new id per request


@pytest.mark.parametrize("incoming", ["abc-123", "req.42:worker_7", "A" * 128, str(uuid.uuid4())])
async def test_sane_request_id_is_echoed(client: httpx.AsyncClient, incoming: str) -> None:
    for response in (
        await client.get("/api/org/", headers={"X-Request-ID": incoming}),
        await client.get("/api/nope/", headers={"x-request-id": incoming}),
    ):
        assert response.headers["X-Request-ID"] == incoming
        assert response.headers.get_list("X-Request-ID") == [incoming]


@pytest.mark.parametrize(
    "incoming", ["A" * 129, "x" * 300, "has spaces", "semi;colon", "new\tline", "ü-umlaut", ""]
)
async def test_weird_request_id_is_replaced(client: httpx.AsyncClient, incoming: str) -> None:
    response = await client.get(
        "/api/org/", headers=[("X-Request-ID", incoming.encode("latin-1", "replace"))]
    )
    assert response.status_code == 401
    assert response.headers.get_list("X-Request-ID") != [incoming]
    assert SAFE_ID.match(response.headers["X-Request-ID"])


# -- trailing slashes -----------------------------------------------------------------------


async def test_paths_work_with_and_without_trailing_slash(
    client: httpx.AsyncClient, factory: Any
) -> None:
    email = f"slash-{uuid.uuid4().hex[:8]}@example.com"
    registered = await client.post(
        "/api/auth/register", json={"email": email, "password": "long enough password"}
    )
    assert registered.status_code == 201
    login = await client.post(
        "/api/auth/login", json={"email": email, "password": "long enough password"}
    )
    assert login.status_code == 200
    bearer = {"Authorization": f"Bearer {login.json()['access']}"}
    for path in ("/api/org", "/api/org/"):
        response = await client.get(path, headers=bearer)
        assert response.status_code == 200, path
    created = await client.post(
        "/api/org", json={"name": f"Slash{uuid.uuid4().hex[:8]}"}, headers=bearer
    )
    assert created.status_code == 201
    headers = {**bearer, "organization-id": created.json()["org"]["id"]}
    team = await client.post("/api/teams", json={"name": "no-slash"}, headers=headers)
    assert team.status_code == 201
    team_id = team.json()["id"]
    for path in (f"/api/teams/{team_id}", f"/api/teams/{team_id}/"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.json()["team"]["id"] == team_id
    for path in ("/api/profile", "/api/profile/"):
        assert (await client.get(path, headers=headers)).status_code == 200
    # Unknown paths stay 404 either way (never a redirect).
    for path in ("/api/unknown", "/api/unknown/"):
        response = await client.get(path)
        assert response.status_code == 404
        assert "location" not in response.headers


# -- framework errors in the §1.6 shapes ----------------------------------------------------


@pytest.mark.parametrize("path", ["/api/nope/", "/api/nope", "/nope", "/", "/api/teams/x/y/z/"])
async def test_unknown_route_is_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/auth/login/")
    assert response.status_code == 405
    body = response.json()
    assert body["error"] is True
    assert isinstance(body["errors"], str)
    assert "code" in body
    assert "POST" in response.headers["Allow"]
    response = await client.put("/api/org/", json={})
    assert response.status_code == 405
    assert response.json()["error"] is True


@pytest.mark.parametrize(
    "bad_id", ["not-a-uuid", "1", "00000000-0000-0000-0000-00000000000g", "%20", "'; drop"]
)
async def test_malformed_uuid_in_path_is_404(
    client: httpx.AsyncClient, factory: Any, bad_id: str
) -> None:
    admin = await factory.admin()
    response = await client.get(f"/api/teams/{bad_id}/", headers=admin.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_unknown_uuid_in_path_is_404(client: httpx.AsyncClient, factory: Any) -> None:
    admin = await factory.admin()
    response = await client.get(f"/api/teams/{uuid.uuid4()}/", headers=admin.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# -- pagination parameters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=-3", "limit"),
        ("limit=1.5", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("offset=-1", "offset"),
        ("offset=abc", "offset"),
        ("offset=99999999999999999999", "offset"),
    ],
)
async def test_bad_paging_parameters_are_400(
    client: httpx.AsyncClient, factory: Any, query: str, field: str
) -> None:
    admin = await factory.admin()
    response = await client.get(f"/api/teams/?{query}", headers=admin.headers)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] is True
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [field]
    assert isinstance(body["errors"][field], list)


async def test_limit_is_capped_to_max_page_size(
    client: httpx.AsyncClient, factory: Any, small_pages_client: httpx.AsyncClient
) -> None:
    admin = await factory.admin()
    for name in ("one", "two", "three"):
        await _team(client, admin, name)
    response = await small_pages_client.get("/api/teams/?limit=50", headers=admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert body["next"] == "/api/teams/?limit=2&offset=2"
    last = await small_pages_client.get(body["next"], headers=admin.headers)
    page = last.json()
    assert len(page["results"]) == 1
    assert page["next"] is None
    assert page["previous"] == "/api/teams/?limit=2&offset=0"
    ids = [t["id"] for t in body["results"] + page["results"]]
    assert len(set(ids)) == 3
    # Without a limit the default (10) is capped too.
    default = (await small_pages_client.get("/api/teams/", headers=admin.headers)).json()
    assert len(default["results"]) == 2


async def test_huge_limit_is_capped_to_default_max(
    client: httpx.AsyncClient, factory: Any, settings: Settings
) -> None:
    admin = await factory.admin()
    await _team(client, admin, "solo")
    response = await client.get("/api/teams/?limit=100000&offset=1", headers=admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["results"] == []
    assert body["next"] is None
    assert body["previous"] == f"/api/teams/?limit={settings.max_page_size}&offset=0"


async def test_page_links_keep_other_query_parameters(
    client: httpx.AsyncClient, factory: Any
) -> None:
    admin = await factory.admin()
    for name in ("alphax-1", "alphax-2", "beta"):
        await _team(client, admin, name)
    first = await client.get("/api/teams?name=alphax&limit=1", headers=admin.headers)
    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 2
    assert len(body["results"]) == 1
    assert body["previous"] is None
    link = urlsplit(body["next"])
    assert link.path == "/api/teams/"
    assert parse_qs(link.query) == {"name": ["alphax"], "limit": ["1"], "offset": ["1"]}

    second = (await client.get(body["next"], headers=admin.headers)).json()
    assert second["count"] == 2
    assert second["next"] is None
    back = urlsplit(second["previous"])
    assert parse_qs(back.query) == {"name": ["alphax"], "limit": ["1"], "offset": ["0"]}
    names = {body["results"][0]["name"], second["results"][0]["name"]}
    assert names == {"alphax-1", "alphax-2"}


async def test_page_links_encode_parameter_values(client: httpx.AsyncClient, factory: Any) -> None:
    admin = await factory.admin()
    await _team(client, admin, "a&b team")
    await _team(client, admin, "a&b other")
    body = (
        await client.get("/api/teams/", params={"name": "a&b", "limit": 1}, headers=admin.headers)
    ).json()
    assert body["count"] == 2
    assert parse_qs(urlsplit(body["next"]).query) == {
        "name": ["a&b"],
        "limit": ["1"],
        "offset": ["1"],
    }


# -- org header rules -----------------------------------------------------------------------


def _assert_403(response: httpx.Response, code: str) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] is True
    assert isinstance(body["errors"], str)
    assert body["code"] == code


async def test_missing_org_header_is_403(client: httpx.AsyncClient, factory: Any) -> None:
    admin = await factory.admin()
    _assert_403(await client.get("/api/profile/", headers=admin.bearer), "org_header_missing")
    headers = {**admin.bearer, "organization-id": "  "}
    _assert_403(await client.get("/api/profile/", headers=headers), "org_header_missing")


@pytest.mark.parametrize("value", ["not-a-uuid", "123", "{}", "00000000-0000-0000-0000"])
async def test_non_uuid_org_header_is_403(
    client: httpx.AsyncClient, factory: Any, value: str
) -> None:
    admin = await factory.admin()
    for name in ("organization-id", "org"):
        response = await client.get("/api/profile/", headers={**admin.bearer, name: value})
        _assert_403(response, "org_header_invalid")


async def test_unknown_org_is_403(client: httpx.AsyncClient, factory: Any) -> None:
    admin = await factory.admin()
    headers = {**admin.bearer, "organization-id": str(uuid.uuid4())}
    _assert_403(await client.get("/api/profile/", headers=headers), "org_access_denied")


async def test_org_of_which_caller_is_not_member_is_403(
    client: httpx.AsyncClient, factory: Any
) -> None:
    admin = await factory.admin()
    outsider = await factory.user()
    headers = {**outsider.bearer, "organization-id": admin.org_id}
    _assert_403(await client.get("/api/profile/", headers=headers), "org_access_denied")


async def test_org_alias_header_alone_works(client: httpx.AsyncClient, factory: Any) -> None:
    admin = await factory.admin()
    response = await client.get("/api/profile/", headers={**admin.bearer, "org": admin.org_id})
    assert response.status_code == 200
    profile = response.json()["user_obj"]
    assert profile["id"] == admin.profile_id
    assert profile["org"] == admin.org_id
    assert profile["role"] == "ADMIN"


async def test_org_headers_that_disagree_are_403(client: httpx.AsyncClient, factory: Any) -> None:
    first = await factory.admin()
    second_org = await client.post(
        "/api/org/", json={"name": f"Second{uuid.uuid4().hex[:8]}"}, headers=first.bearer
    )
    assert second_org.status_code == 201
    other_id = second_org.json()["org"]["id"]
    # Both orgs are the caller's own; the headers must still agree.
    headers = {**first.bearer, "organization-id": first.org_id, "org": other_id}
    _assert_403(await client.get("/api/profile/", headers=headers), "org_header_mismatch")
    headers = {**first.bearer, "organization-id": first.org_id, "org": "garbage"}
    _assert_403(await client.get("/api/profile/", headers=headers), "org_header_mismatch")


async def test_org_headers_that_agree_work(client: httpx.AsyncClient, factory: Any) -> None:
    admin = await factory.admin()
    headers = {**admin.bearer, "organization-id": admin.org_id, "org": admin.org_id}
    response = await client.get("/api/profile/", headers=headers)
    assert response.status_code == 200
    assert response.json()["user_obj"]["id"] == admin.profile_id
    padded = {**admin.bearer, "organization-id": f" {admin.org_id} ", "org": admin.org_id}
    assert (await client.get("/api/profile/", headers=padded)).status_code == 200


async def test_org_header_with_bad_token_is_401(client: httpx.AsyncClient, factory: Any) -> None:
    """Authentication is checked before membership: a bad token is 401, not 403."""
    admin = await factory.admin()
    headers = {"Authorization": "Bearer garbage", "organization-id": admin.org_id}
    response = await client.get("/api/profile/", headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}
    response = await client.get("/api/profile/", headers={"organization-id": admin.org_id})
    assert response.status_code == 401


async def test_member_sees_own_profile_in_each_org(client: httpx.AsyncClient, factory: Any) -> None:
    admin = await factory.admin()
    member = await factory.member_of(admin)
    response = await client.get("/api/profile/", headers=member.headers)
    assert response.status_code == 200
    profile = response.json()["user_obj"]
    assert profile["id"] == member.profile_id
    assert profile["role"] == "USER"
    assert profile["email"] == member.email


# -- org API key (Token header) -------------------------------------------------------------


async def _org_with_key(client: httpx.AsyncClient, factory: Any) -> tuple[Any, str, str]:
    owner = await factory.user()
    response = await client.post(
        "/api/org/", json={"name": f"Keyed{uuid.uuid4().hex[:8]}"}, headers=owner.bearer
    )
    assert response.status_code == 201
    org = response.json()["org"]
    assert org["api_key"]
    return owner, org["id"], org["api_key"]


async def test_org_api_key_acts_as_org_admin(client: httpx.AsyncClient, factory: Any) -> None:
    owner, org_id, api_key = await _org_with_key(client, factory)
    response = await client.get("/api/profile/", headers={"Token": api_key})
    assert response.status_code == 200
    profile = response.json()["user_obj"]
    assert profile["role"] == "ADMIN"
    assert profile["email"] == owner.email
    assert profile["org"] == org_id
    # Admin-only endpoints accept it too.
    created = await client.post("/api/teams/", json={"name": "via-key"}, headers={"Token": api_key})
    assert created.status_code == 201
    assert created.json()["org"] == org_id
    # With a matching org header it still works.
    matching = {"Token": api_key, "organization-id": org_id}
    assert (await client.get("/api/profile/", headers=matching)).status_code == 200


async def test_org_api_key_with_other_org_header_is_403(
    client: httpx.AsyncClient, factory: Any
) -> None:
    _, _, api_key = await _org_with_key(client, factory)
    other = await factory.admin()
    headers = {"Token": api_key, "organization-id": other.org_id}
    _assert_403(await client.get("/api/profile/", headers=headers), "org_header_mismatch")


@pytest.mark.parametrize("token", ["wrong-key", str(uuid.uuid4()), "x" * 500])
async def test_wrong_org_api_key_is_401(
    client: httpx.AsyncClient, factory: Any, token: str
) -> None:
    await _org_with_key(client, factory)
    response = await client.get("/api/profile/", headers={"Token": token})
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "org_key_not_valid"


async def test_org_api_key_does_not_open_other_orgs(
    client: httpx.AsyncClient, factory: Any
) -> None:
    _, _, api_key = await _org_with_key(client, factory)
    other = await factory.admin()
    team = await _team(client, other, "private")
    response = await client.get(f"/api/teams/{team['id']}/", headers={"Token": api_key})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# -- failures that must never become a bare 500 ---------------------------------------------


@pytest.fixture
async def boom_client(
    settings: Settings, test_database: Database, google: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app plus one route that fails with an unexpected exception."""
    app = create_app(
        settings, database=test_database, google_verifier=google, counter=MemoryCounter()
    )

    async def boom() -> None:
        raise RuntimeError("unexpected")

    app.add_api_route("/api/boom/", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_unexpected_error_is_rendered_as_500(boom_client: httpx.AsyncClient) -> None:
    response = await boom_client.get("/api/boom/")
    assert response.status_code == 500
    assert response.json() == {
        "error": True,
        "errors": "Internal server error",
        "code": "internal_error",
    }
    assert "unexpected" not in response.text  # no internals leak


async def test_unexpected_error_carries_request_id(boom_client: httpx.AsyncClient) -> None:
    response = await boom_client.get("/api/boom/", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.headers.get("X-Request-ID") == "trace-500"


async def test_nul_character_in_text_input_is_not_a_500(
    client: httpx.AsyncClient, factory: Any, backend: str, request: pytest.FixtureRequest
) -> None:
    admin = await factory.admin()
    search = await client.get("/api/teams/", params={"name": "a\x00b"}, headers=admin.headers)
    assert search.status_code == 400, search.text
    assert search.json()["code"] == "nul_character"
    created = await client.post("/api/teams/", json={"name": "nul\x00team"}, headers=admin.headers)
    assert created.status_code == 400, created.text
    assert created.json()["error"] is True
