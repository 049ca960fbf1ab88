"""Organizations (§2.4) and the caller's profile (§2.5), through the HTTP API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.shapes import PROFILE_KEYS

MEMBERSHIP_KEYS = {
    "id",
    "role",
    "alternate_phone",
    "has_sales_access",
    "has_marketing_access",
    "is_organization_admin",
    "org",
}


def _org_name() -> str:
    return f"Org{uuid.uuid4().hex[:10]}"


async def _my_orgs(client, member) -> list[dict]:
    response = await client.get("/api/org/", headers=member.bearer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"error", "status", "profile_org_list"}
    assert body["error"] is False
    assert body["status"] == 200
    return body["profile_org_list"]


# -- POST /api/org/ --------------------------------------------------------------------------


async def test_create_org_returns_the_org_and_the_callers_admin_profile(client, factory):
    user = await factory.user()
    name = _org_name()

    response = await client.post("/api/org/", json={"name": name}, headers=user.bearer)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"error", "message", "org", "profile"}
    assert body["error"] is False
    assert body["message"] == "New Org is Created."
    org = body["org"]
    assert set(org) == {"id", "name", "api_key"}
    assert org["name"] == name
    uuid.UUID(org["id"])
    assert isinstance(org["api_key"], str)
    assert len(org["api_key"]) >= 16

    profile = body["profile"]
    assert set(profile) == PROFILE_KEYS
    assert profile["role"] == "ADMIN"
    assert profile["is_organization_admin"] is True
    assert profile["is_active"] is True
    assert profile["email"] == user.email
    assert profile["org"] == org["id"]
    assert profile["date_of_joining"] == datetime.now(UTC).date().isoformat()
    assert profile["user_details"]["id"] == user.user_id
    assert profile["user_details"]["email"] == user.email

    # The new org is usable right away with the returned id, and the profile is the caller's.
    me = await client.get("/api/profile/", headers={**user.bearer, "organization-id": org["id"]})
    assert me.status_code == 200, me.text
    assert me.json()["user_obj"]["id"] == profile["id"]
    assert me.json()["user_obj"]["role"] == "ADMIN"


async def test_two_orgs_get_different_api_keys(client, factory):
    user = await factory.user()
    first = await client.post("/api/org/", json={"name": _org_name()}, headers=user.bearer)
    second = await client.post("/api/org/", json={"name": _org_name()}, headers=user.bearer)
    assert first.status_code == second.status_code == 201
    assert first.json()["org"]["id"] != second.json()["org"]["id"]
    assert first.json()["org"]["api_key"] != second.json()["org"]["api_key"]


FORBIDDEN_NAMES = [
    "Acme Corp",
    "acme@corp",
    "acme.corp",
    "acme_corp",
    "acme/corp",
    "acme#1",
    "acme!",
    "acme(1)",
    "acme[1]",
    "acme'1",
    'acme"1',
    "acme:1",
    "acme;1",
    "acme+1",
    "acme*",
    "acme&co",
    "acme%",
    "acme$",
    "acme^",
    "acme~",
    "acme{1}",
]


async def test_org_name_with_a_forbidden_character_is_rejected(client, factory):
    user = await factory.user()

    for name in FORBIDDEN_NAMES:
        response = await client.post("/api/org/", json={"name": name}, headers=user.bearer)

        assert response.status_code == 400, (name, response.text)
        body = response.json()
        assert body["error"] is True
        assert set(body["errors"]) == {"name"}, name
        assert len(body["errors"]["name"]) == 1
    assert await _my_orgs(client, user) == []


async def test_org_name_allows_letters_digits_and_dashes(client, factory):
    user = await factory.user()
    name = f"Acme-{uuid.uuid4().hex[:6]}-2"
    response = await client.post("/api/org/", json={"name": name}, headers=user.bearer)
    assert response.status_code == 201, response.text
    assert response.json()["org"]["name"] == name


async def test_duplicate_org_name_is_rejected_case_insensitively(client, factory):
    owner = await factory.user()
    name = "Dup" + uuid.uuid4().hex[:8]
    first = await client.post("/api/org/", json={"name": name}, headers=owner.bearer)
    assert first.status_code == 201, first.text

    other = await factory.user()
    for duplicate in (name, name.upper(), name.lower()):
        response = await client.post("/api/org/", json={"name": duplicate}, headers=other.bearer)

        assert response.status_code == 400, (duplicate, response.text)
        body = response.json()
        assert body["error"] is True
        assert body["errors"] == {"name": ["Organization already exists with this name"]}
    assert await _my_orgs(client, other) == []


async def test_duplicate_org_name_check_folds_non_ascii_case(client, factory, backend, request):
    suffix = uuid.uuid4().hex[:6]
    owner = await factory.user()
    first = await client.post("/api/org/", json={"name": f"Ärzte{suffix}"}, headers=owner.bearer)
    assert first.status_code == 201, first.text

    other = await factory.user()
    response = await client.post("/api/org/", json={"name": f"ärzte{suffix}"}, headers=other.bearer)

    assert response.status_code == 400, response.text
    assert response.json()["errors"] == {"name": ["Organization already exists with this name"]}


async def test_empty_or_missing_org_name_is_rejected(client, factory):
    user = await factory.user()
    for payload in ({"name": ""}, {}, {"name": None}, {"name": "x" * 101}):
        response = await client.post("/api/org/", json=payload, headers=user.bearer)
        assert response.status_code == 400, payload
        body = response.json()
        assert body["error"] is True
        assert set(body["errors"]) == {"name"}, payload
    assert await _my_orgs(client, user) == []


async def test_create_org_needs_a_token(client):
    response = await client.post("/api/org/", json={"name": _org_name()})
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}


async def test_create_org_rejects_a_bad_token(client):
    response = await client.post(
        "/api/org/", json={"name": _org_name()}, headers={"Authorization": "Bearer not-a-jwt"}
    )
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}


# -- GET /api/org/ ---------------------------------------------------------------------------


async def test_list_orgs_needs_a_token(client):
    response = await client.get("/api/org/")
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}


async def test_a_user_without_orgs_has_an_empty_list(client, factory):
    user = await factory.user()
    assert await _my_orgs(client, user) == []


async def test_member_of_two_orgs_sees_both_with_api_key_only_where_admin(client, factory):
    own = await factory.admin()
    other = await factory.admin()
    # ``own`` joins ``other``'s org as a plain USER.
    added = await client.post(
        "/api/users/",
        json={"email": own.email, "role": "USER", "phone": "+14155550101"},
        headers=other.headers,
    )
    assert added.status_code == 201, added.text

    memberships = await _my_orgs(client, own)

    assert len(memberships) == 2
    by_org = {m["org"]["id"]: m for m in memberships}
    assert set(by_org) == {own.org_id, other.org_id}
    for membership in memberships:
        assert set(membership) == MEMBERSHIP_KEYS
        assert set(membership["org"]) == {"id", "name", "api_key"}

    mine = by_org[own.org_id]
    assert mine["id"] == own.profile_id
    assert mine["role"] == "ADMIN"
    assert mine["is_organization_admin"] is True
    assert isinstance(mine["org"]["api_key"], str)
    assert mine["org"]["api_key"]

    theirs = by_org[other.org_id]
    assert theirs["id"] == added.json()["id"]
    assert theirs["role"] == "USER"
    assert theirs["is_organization_admin"] is False
    assert theirs["org"]["api_key"] is None

    # The other org's admin sees its key; it is not the key of ``own``'s org.
    other_view = await _my_orgs(client, other)
    assert len(other_view) == 1
    assert other_view[0]["org"]["id"] == other.org_id
    assert other_view[0]["org"]["api_key"]
    assert other_view[0]["org"]["api_key"] != mine["org"]["api_key"]


async def test_created_org_api_key_matches_listing(client, factory):
    user = await factory.user()
    created = await client.post("/api/org/", json={"name": _org_name()}, headers=user.bearer)
    assert created.status_code == 201
    memberships = await _my_orgs(client, user)
    assert [m["org"] for m in memberships] == [created.json()["org"]]


async def test_list_orgs_hides_inactive_memberships(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    assert [m["org"]["id"] for m in await _my_orgs(client, member)] == [admin.org_id]

    response = await client.post(
        f"/api/user/{member.profile_id}/status/",
        json={"status": "Inactive"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text

    assert await _my_orgs(client, member) == []


async def test_list_orgs_ignores_an_org_header(client, factory):
    admin = await factory.admin()
    stranger = await factory.admin()
    response = await client.get(
        "/api/org/", headers={**admin.bearer, "organization-id": stranger.org_id}
    )
    assert response.status_code == 200
    assert [m["org"]["id"] for m in response.json()["profile_org_list"]] == [admin.org_id]


# -- GET /api/profile/ -----------------------------------------------------------------------


async def test_profile_returns_the_callers_membership(client, factory):
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    registered = await client.post(
        "/api/auth/register/",
        json={
            "email": email,
            "password": "correct horse battery",
            "first_name": "Ada",
            "last_name": "Lovelace",
        },
    )
    assert registered.status_code == 201, registered.text
    bearer = {"Authorization": f"Bearer {registered.json()['access']}"}
    user_id = registered.json()["user"]["id"]
    created = await client.post("/api/org/", json={"name": _org_name()}, headers=bearer)
    assert created.status_code == 201
    org_id = created.json()["org"]["id"]

    response = await client.get("/api/profile/", headers={**bearer, "organization-id": org_id})

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"user_obj"}
    obj = body["user_obj"]
    assert set(obj) == PROFILE_KEYS
    assert obj["id"] == created.json()["profile"]["id"]
    assert obj["email"] == email
    assert obj["first_name"] == "Ada"
    assert obj["last_name"] == "Lovelace"
    assert obj["role"] == "ADMIN"
    assert obj["is_active"] is True
    assert obj["phone"] is None
    assert obj["has_sales_access"] is False
    assert obj["has_marketing_access"] is False
    assert obj["is_organization_admin"] is True
    assert obj["date_of_joining"] == datetime.now(UTC).date().isoformat()
    assert obj["org"] == org_id
    assert obj["user_details"] == {
        "id": user_id,
        "email": email,
        "is_active": True,
        "profile_pic": None,
    }


async def test_profile_of_a_user_member_shows_role_user_and_phone(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin, phone="+14155550142")

    response = await client.get("/api/profile/", headers=member.headers)

    assert response.status_code == 200, response.text
    obj = response.json()["user_obj"]
    assert obj["id"] == member.profile_id
    assert obj["role"] == "USER"
    assert obj["is_organization_admin"] is False
    assert obj["phone"] == "+14155550142"
    assert obj["email"] == member.email


async def test_profile_accepts_the_org_header_alias(client, factory):
    admin = await factory.admin()
    response = await client.get("/api/profile/", headers={**admin.bearer, "org": admin.org_id})
    assert response.status_code == 200
    assert response.json()["user_obj"]["id"] == admin.profile_id


async def test_profile_needs_the_org_header(client, factory):
    admin = await factory.admin()
    response = await client.get("/api/profile/", headers=admin.bearer)
    assert response.status_code == 403
    body = response.json()
    assert body["error"] is True
    assert isinstance(body["errors"], str)


async def test_profile_in_an_org_the_caller_does_not_belong_to_is_forbidden(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    for org in (other.org_id, str(uuid.uuid4()), "nope"):
        response = await client.get(
            "/api/profile/", headers={**admin.bearer, "organization-id": org}
        )
        assert response.status_code == 403, org
        assert response.json()["error"] is True


async def test_profile_needs_a_token(client, factory):
    admin = await factory.admin()
    response = await client.get("/api/profile/", headers={"organization-id": admin.org_id})
    assert response.status_code == 401
