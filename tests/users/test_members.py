"""Members of an org (§2.6): list, add, read, update, remove, (de)activate, picker lookup."""

from __future__ import annotations

import uuid

import pytest

from tests.shapes import DENIED, NOT_FOUND, PROFILE_KEYS

_phones = iter(range(1_000_000, 9_999_999))


def _phone() -> str:
    return f"+1415{next(_phones)}"


def _email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def _add(client, admin, **body):
    payload = {"email": _email(), "role": "USER", "phone": _phone(), **body}
    return await client.post("/api/users/", json=payload, headers=admin.headers)


async def _add_ok(client, admin, **body) -> dict:
    response = await _add(client, admin, **body)
    assert response.status_code == 201, response.text
    return response.json()


async def _set_status(client, admin, profile_id, status):
    return await client.post(
        f"/api/user/{profile_id}/status/", json={"status": status}, headers=admin.headers
    )


async def _detail(client, caller, profile_id) -> dict:
    response = await client.get(f"/api/user/{profile_id}/", headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]["profile_obj"]


async def _login(client, email, password):
    return await client.post("/api/auth/login/", json={"email": email, "password": password})


# -- GET /api/users/ -------------------------------------------------------------------------


async def test_list_members_shape_split_and_order(client, factory, settings):
    admin = await factory.admin()
    alice = await _add_ok(client, admin, email=_email("alice"))
    bob = await _add_ok(client, admin, email=_email("bob"), role="ADMIN")
    gone = await _add_ok(client, admin, email=_email("carol"))
    assert (await _set_status(client, admin, gone["id"], "Inactive")).status_code == 200

    response = await client.get("/api/users/", headers=admin.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"active_users", "inactive_users", "admin_email", "roles", "status"}
    assert set(body["active_users"]) == {"active_users_count", "active_users", "offset"}
    assert set(body["inactive_users"]) == {"inactive_users_count", "inactive_users", "offset"}
    assert body["admin_email"] == settings.admin_email
    assert body["roles"] == [["ADMIN", "ADMIN"], ["USER", "USER"]]
    assert body["status"] == [["True", "Active"], ["False", "In Active"]]

    active = body["active_users"]
    expected = sorted(
        [(admin.email, admin.profile_id), (alice["email"], alice["id"]), (bob["email"], bob["id"])]
    )
    assert active["active_users_count"] == 3
    assert [(p["email"], p["id"]) for p in active["active_users"]] == expected
    assert active["offset"] is None
    for profile in active["active_users"]:
        assert set(profile) == PROFILE_KEYS
        assert profile["is_active"] is True
        assert profile["org"] == admin.org_id

    inactive = body["inactive_users"]
    assert inactive["inactive_users_count"] == 1
    assert [p["id"] for p in inactive["inactive_users"]] == [gone["id"]]
    assert inactive["inactive_users"][0]["is_active"] is False
    assert inactive["offset"] is None


async def test_list_members_is_admin_only(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)

    response = await client.get("/api/users/", headers=member.headers)

    assert response.status_code == 403
    assert response.json() == DENIED


async def test_list_members_needs_org_membership(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    response = await client.get(
        "/api/users/", headers={**other.bearer, "organization-id": admin.org_id}
    )
    assert response.status_code == 403
    assert response.json()["error"] is True


async def test_list_members_filter_by_email_is_partial_and_case_insensitive(client, factory):
    admin = await factory.admin()
    tag = uuid.uuid4().hex[:6]
    wanted = await _add_ok(client, admin, email=f"zed-{tag}@example.com")
    await _add_ok(client, admin, email=_email("zoe"))

    response = await client.get(
        "/api/users/", params={"email": f"ZED-{tag.upper()}"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active_users"]["active_users_count"] == 1
    assert [p["id"] for p in body["active_users"]["active_users"]] == [wanted["id"]]
    assert body["inactive_users"]["inactive_users_count"] == 0


async def test_list_members_email_filter_treats_wildcards_literally(client, factory):
    admin = await factory.admin()
    await _add_ok(client, admin)
    response = await client.get("/api/users/", params={"email": "%"}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["active_users"]["active_users_count"] == 0


async def test_list_members_filter_by_role(client, factory):
    admin = await factory.admin()
    second_admin = await _add_ok(client, admin, role="ADMIN")
    user = await _add_ok(client, admin, role="USER")

    admins = await client.get("/api/users/", params={"role": "ADMIN"}, headers=admin.headers)
    users = await client.get("/api/users/", params={"role": "USER"}, headers=admin.headers)

    assert admins.status_code == users.status_code == 200
    assert {p["id"] for p in admins.json()["active_users"]["active_users"]} == {
        admin.profile_id,
        second_admin["id"],
    }
    assert admins.json()["active_users"]["active_users_count"] == 2
    assert [p["id"] for p in users.json()["active_users"]["active_users"]] == [user["id"]]
    assert users.json()["active_users"]["active_users_count"] == 1


async def test_list_members_filter_by_status(client, factory):
    admin = await factory.admin()
    inactive = await _add_ok(client, admin)
    await _add_ok(client, admin)
    assert (await _set_status(client, admin, inactive["id"], "Inactive")).status_code == 200

    only_active = await client.get(
        "/api/users/", params={"status": "Active"}, headers=admin.headers
    )
    only_inactive = await client.get(
        "/api/users/", params={"status": "Inactive"}, headers=admin.headers
    )

    assert only_active.status_code == only_inactive.status_code == 200
    body = only_active.json()
    assert body["active_users"]["active_users_count"] == 2
    assert body["inactive_users"] == {
        "inactive_users_count": 0,
        "inactive_users": [],
        "offset": None,
    }
    body = only_inactive.json()
    assert body["active_users"] == {"active_users_count": 0, "active_users": [], "offset": None}
    assert body["inactive_users"]["inactive_users_count"] == 1
    assert [p["id"] for p in body["inactive_users"]["inactive_users"]] == [inactive["id"]]


async def test_list_members_rejects_unknown_filter_values(client, factory):
    admin = await factory.admin()
    for params in ({"status": "Sleeping"}, {"role": "OWNER"}, {"limit": 0}, {"offset": -1}):
        response = await client.get("/api/users/", params=params, headers=admin.headers)
        assert response.status_code == 400, params
        assert response.json()["error"] is True


async def test_list_members_paginates_each_half_with_total_counts(client, factory):
    admin = await factory.admin()
    for _ in range(4):
        await _add_ok(client, admin)
    inactive = [await _add_ok(client, admin) for _ in range(3)]
    for profile in inactive:
        assert (await _set_status(client, admin, profile["id"], "Inactive")).status_code == 200

    everyone = await client.get("/api/users/", params={"limit": 100}, headers=admin.headers)
    all_active = [p["id"] for p in everyone.json()["active_users"]["active_users"]]
    all_inactive = [p["id"] for p in everyone.json()["inactive_users"]["inactive_users"]]
    assert len(all_active) == 5
    assert len(all_inactive) == 3

    first = await client.get("/api/users/", params={"limit": 2, "offset": 0}, headers=admin.headers)
    last = await client.get("/api/users/", params={"limit": 2, "offset": 4}, headers=admin.headers)

    assert first.status_code == last.status_code == 200
    first_body, last_body = first.json(), last.json()
    assert first_body["active_users"]["active_users_count"] == 5
    assert first_body["inactive_users"]["inactive_users_count"] == 3
    assert [p["id"] for p in first_body["active_users"]["active_users"]] == all_active[:2]
    assert [p["id"] for p in first_body["inactive_users"]["inactive_users"]] == all_inactive[:2]
    assert first_body["active_users"]["offset"] == 2
    assert first_body["inactive_users"]["offset"] == 2

    assert last_body["active_users"]["active_users_count"] == 5
    assert last_body["inactive_users"]["inactive_users_count"] == 3
    assert [p["id"] for p in last_body["active_users"]["active_users"]] == all_active[4:]
    assert last_body["inactive_users"]["inactive_users"] == []
    assert last_body["active_users"]["offset"] is None
    assert last_body["inactive_users"]["offset"] is None


async def test_list_members_only_shows_this_org(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    await _add_ok(client, other)
    response = await client.get("/api/users/", headers=admin.headers)
    assert [p["id"] for p in response.json()["active_users"]["active_users"]] == [admin.profile_id]


# -- POST /api/users/ ------------------------------------------------------------------------


async def test_add_member_returns_the_profile(client, factory):
    admin = await factory.admin()
    email = f"New.Bie-{uuid.uuid4().hex[:8]}@Example.COM"

    response = await client.post(
        "/api/users/",
        json={
            "email": email,
            "role": "USER",
            "phone": "+1 (415) 555-0100",
            "alternate_phone": "+14155550199",
            "first_name": "New",
            "last_name": "Bie",
            "has_sales_access": True,
            "city": "Springfield",
            "country": "US",
        },
        headers=admin.headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == PROFILE_KEYS
    uuid.UUID(body["id"])
    assert body["email"] == email.lower()
    assert body["first_name"] == "New"
    assert body["last_name"] == "Bie"
    assert body["role"] == "USER"
    assert body["is_organization_admin"] is False
    assert body["is_active"] is True
    assert body["phone"] == "+14155550100"
    assert body["alternate_phone"] == "+14155550199"
    assert body["has_sales_access"] is True
    assert body["has_marketing_access"] is False
    assert body["org"] == admin.org_id
    assert body["address"]["city"] == "Springfield"
    assert body["address"]["country"] == "US"
    assert body["user_details"]["email"] == email.lower()

    # It is a real member now: the admin can read it and it is listed.
    assert (await _detail(client, admin, body["id"]))["email"] == email.lower()


async def test_add_admin_member(client, factory):
    admin = await factory.admin()
    body = await _add_ok(client, admin, role="ADMIN")
    assert body["role"] == "ADMIN"
    assert body["is_organization_admin"] is True


async def test_add_member_is_admin_only(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    email = _email()

    response = await _add(client, member, email=email)

    assert response.status_code == 403
    assert response.json() == DENIED
    listed = await client.get("/api/users/", params={"email": email}, headers=admin.headers)
    assert listed.json()["active_users"]["active_users_count"] == 0


async def test_add_member_requires_a_phone(client, factory):
    admin = await factory.admin()
    response = await client.post(
        "/api/users/", json={"email": _email(), "role": "USER"}, headers=admin.headers
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] is True
    assert set(body["errors"]) == {"phone"}


async def test_add_member_rejects_a_bad_phone_email_or_role(client, factory):
    admin = await factory.admin()
    cases = [
        {"phone": "not a phone"},
        {"phone": "123"},
        {"phone": "+1415555012345678901"},
        {"phone": ""},
        {"phone": "++14155550"},
        {"email": "not-an-email"},
        {"role": "OWNER"},
    ]
    for body in cases:
        response = await _add(client, admin, **body)
        assert response.status_code == 400, body
        payload = response.json()
        assert payload["error"] is True
        assert set(payload["errors"]) == set(body), body
    listed = await client.get("/api/users/", headers=admin.headers)
    assert listed.json()["active_users"]["active_users_count"] == 1


async def test_add_member_rejects_a_phone_already_used_in_the_org(client, factory):
    admin = await factory.admin()
    await _add_ok(client, admin, phone="+14155550111")

    same = await _add(client, admin, phone="+14155550111")
    formatted = await _add(client, admin, phone="+1 415 555 0111")

    for response in (same, formatted):
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] is True
        assert set(body["errors"]) == {"phone"}


async def test_the_same_phone_may_be_used_in_another_org(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    await _add_ok(client, admin, phone="+14155550112")
    response = await _add(client, other, phone="+14155550112")
    assert response.status_code == 201, response.text


async def test_adding_an_existing_member_is_rejected(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)

    again = await _add(client, admin, email=member.email)
    upper = await _add(client, admin, email=member.email.upper())
    self_again = await _add(client, admin, email=admin.email)

    for response in (again, upper, self_again):
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] is True
        assert set(body["errors"]) == {"email"}


async def test_adding_a_user_of_another_org_reuses_the_account_and_keeps_the_password(
    client, factory
):
    admin = await factory.admin()
    outsider = await factory.admin()  # a user with a password and an org of their own

    response = await _add(
        client, admin, email=outsider.email, password="a brand new password", first_name="X"
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user_details"]["id"] == outsider.user_id
    assert body["email"] == outsider.email
    assert body["first_name"] == ""  # the account is reused untouched

    old = await _login(client, outsider.email, outsider.password)
    assert old.status_code == 200, old.text
    assert old.json()["user"]["id"] == outsider.user_id
    new = await _login(client, outsider.email, "a brand new password")
    assert new.status_code == 400

    # The same user now belongs to both orgs.
    orgs = await client.get("/api/org/", headers=outsider.bearer)
    assert {m["org"]["id"] for m in orgs.json()["profile_org_list"]} == {
        admin.org_id,
        outsider.org_id,
    }
    in_new_org = await client.get(
        "/api/profile/", headers={**outsider.bearer, "organization-id": admin.org_id}
    )
    assert in_new_org.status_code == 200
    assert in_new_org.json()["user_obj"]["id"] == body["id"]
    assert in_new_org.json()["user_obj"]["role"] == "USER"


async def test_a_new_email_with_a_password_can_log_in(client, factory):
    admin = await factory.admin()
    email = _email("fresh")

    body = await _add_ok(client, admin, email=email, password="fresh password 1")

    login = await _login(client, email, "fresh password 1")
    assert login.status_code == 200, login.text
    assert login.json()["user"]["id"] == body["user_details"]["id"]
    token = {"Authorization": f"Bearer {login.json()['access']}", "organization-id": admin.org_id}
    me = await client.get("/api/profile/", headers=token)
    assert me.status_code == 200
    assert me.json()["user_obj"]["id"] == body["id"]


async def test_a_new_email_without_a_password_cannot_log_in_with_any_password(client, factory):
    admin = await factory.admin()
    email = _email("nopass")
    await _add_ok(client, admin, email=email)
    assert (await _login(client, email, "")).status_code == 400
    assert (await _login(client, email, "anything at all")).status_code == 400


# -- GET /api/user/<id>/ ---------------------------------------------------------------------


async def test_admin_reads_any_member(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    inactive = await _add_ok(client, admin)
    assert (await _set_status(client, admin, inactive["id"], "Inactive")).status_code == 200

    response = await client.get(f"/api/user/{member.profile_id}/", headers=admin.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"error", "data"}
    assert body["error"] is False
    assert set(body["data"]) == {"profile_obj", "assigned_data"}
    assert set(body["data"]["profile_obj"]) == PROFILE_KEYS
    assert body["data"]["profile_obj"]["id"] == member.profile_id
    assert body["data"]["profile_obj"]["email"] == member.email
    # assigned_data: the org's active members.
    assert sorted(body["data"]["assigned_data"], key=lambda d: d["user__email"]) == sorted(
        [
            {"id": admin.profile_id, "user__email": admin.email},
            {"id": member.profile_id, "user__email": member.email},
        ],
        key=lambda d: d["user__email"],
    )
    # An inactive member can still be read by the admin.
    assert (await _detail(client, admin, inactive["id"]))["is_active"] is False


async def test_a_user_reads_only_themself(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    peer = await factory.member_of(admin)

    own = await client.get(f"/api/user/{member.profile_id}/", headers=member.headers)
    peers = await client.get(f"/api/user/{peer.profile_id}/", headers=member.headers)
    admins = await client.get(f"/api/user/{admin.profile_id}/", headers=member.headers)

    assert own.status_code == 200
    assert own.json()["data"]["profile_obj"]["id"] == member.profile_id
    assert peers.status_code == 403
    assert peers.json() == DENIED
    assert admins.status_code == 403


async def test_member_of_another_org_is_not_found_like_a_random_id(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    stranger = await factory.member_of(other)

    foreign = await client.get(f"/api/user/{stranger.profile_id}/", headers=admin.headers)
    random = await client.get(f"/api/user/{uuid.uuid4()}/", headers=admin.headers)

    assert foreign.status_code == random.status_code == 404
    assert foreign.json() == random.json() == NOT_FOUND


async def test_malformed_member_id_is_not_found(client, factory):
    admin = await factory.admin()
    for bad_id in ("not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"):
        response = await client.get(f"/api/user/{bad_id}/", headers=admin.headers)
        assert response.status_code == 404, bad_id
        assert response.json() == NOT_FOUND


# -- PUT / PATCH /api/user/<id>/ -------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_a_member_updates_their_own_phone_names_and_password(client, factory, method):
    admin = await factory.admin()
    member = await factory.member_of(admin, phone="+14155550120")

    response = await client.request(
        method,
        f"/api/user/{member.profile_id}/",
        json={
            "phone": "+14155550121",
            "first_name": "Grace",
            "last_name": "Hopper",
            "password": "a new secret 42",
        },
        headers=member.headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == PROFILE_KEYS
    assert body["id"] == member.profile_id
    assert body["phone"] == "+14155550121"
    assert body["first_name"] == "Grace"
    assert body["last_name"] == "Hopper"
    assert body["role"] == "USER"
    assert body["email"] == member.email

    assert (await _login(client, member.email, "a new secret 42")).status_code == 200
    assert (await _login(client, member.email, member.password)).status_code == 400
    stored = await _detail(client, admin, member.profile_id)
    assert (stored["phone"], stored["first_name"], stored["last_name"]) == (
        "+14155550121",
        "Grace",
        "Hopper",
    )


async def test_partial_update_keeps_the_fields_not_sent(client, factory):
    admin = await factory.admin()
    created = await _add_ok(
        client,
        admin,
        phone="+14155550130",
        alternate_phone="+14155550131",
        first_name="Keep",
        has_marketing_access=True,
    )
    response = await client.patch(
        f"/api/user/{created['id']}/", json={"has_sales_access": True}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["has_sales_access"] is True
    assert body["has_marketing_access"] is True
    assert body["phone"] == "+14155550130"
    assert body["alternate_phone"] == "+14155550131"
    assert body["first_name"] == "Keep"
    assert body["role"] == "USER"
    assert body["address"] is None

    with_address = await client.patch(
        f"/api/user/{created['id']}/", json={"city": "Paris"}, headers=admin.headers
    )
    assert with_address.status_code == 200, with_address.text
    assert with_address.json()["address"]["city"] == "Paris"
    moved = await client.patch(
        f"/api/user/{created['id']}/", json={"country": "FR"}, headers=admin.headers
    )
    assert moved.status_code == 200
    assert (moved.json()["address"]["city"], moved.json()["address"]["country"]) == ("Paris", "FR")
    assert moved.json()["has_sales_access"] is True


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_a_user_cannot_change_their_own_role(client, factory, method):
    admin = await factory.admin()
    member = await factory.member_of(admin)

    before = await _detail(client, admin, member.profile_id)

    response = await client.request(
        method,
        f"/api/user/{member.profile_id}/",
        json={"role": "ADMIN", "first_name": "Sneaky", "phone": "+14155550199"},
        headers=member.headers,
    )

    assert response.status_code == 403
    body = response.json()
    assert body["error"] is True
    assert body["code"] == "role_change_denied"
    # Nothing of the refused request is kept, not even the fields the member may change.
    assert await _detail(client, admin, member.profile_id) == before
    users = await client.get("/api/users/", headers=member.headers)
    assert users.status_code == 403


async def test_a_user_cannot_grant_themself_access_flags(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    response = await client.patch(
        f"/api/user/{member.profile_id}/", json={"has_sales_access": True}, headers=member.headers
    )
    assert response.status_code == 403
    assert (await _detail(client, admin, member.profile_id))["has_sales_access"] is False


async def test_a_user_cannot_update_another_member(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    peer = await factory.member_of(admin, phone="+14155550140")

    response = await client.patch(
        f"/api/user/{peer.profile_id}/", json={"phone": "+14155550141"}, headers=member.headers
    )

    assert response.status_code == 403
    assert response.json() == DENIED
    assert (await _detail(client, admin, peer.profile_id))["phone"] == "+14155550140"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_admin_changes_another_members_role_and_phone(client, factory, method):
    admin = await factory.admin()
    member = await factory.member_of(admin)

    response = await client.request(
        method,
        f"/api/user/{member.profile_id}/",
        json={"role": "ADMIN", "phone": "+14155550150"},
        headers=admin.headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role"] == "ADMIN"
    assert body["is_organization_admin"] is True
    assert body["phone"] == "+14155550150"
    # The promotion takes effect on the member's next request.
    users = await client.get("/api/users/", headers=member.headers)
    assert users.status_code == 200


async def test_admin_sending_the_members_unchanged_account_fields_is_allowed(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    response = await client.put(
        f"/api/user/{member.profile_id}/",
        json={"email": member.email.upper(), "role": "USER", "phone": "+14155550155"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["phone"] == "+14155550155"


async def test_admin_cannot_change_another_members_account_fields(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    before = await _detail(client, admin, member.profile_id)
    changes = [
        {"email": "taken-over@example.com"},
        {"first_name": "Mallory"},
        {"last_name": "Mallory"},
        {"password": "i own you now"},
    ]

    for method in ("PUT", "PATCH"):
        for change in changes:
            response = await client.request(
                method,
                f"/api/user/{member.profile_id}/",
                json={"phone": "+14155550160", **change},
                headers=admin.headers,
            )

            assert response.status_code == 403, (method, change)
            body = response.json()
            assert body["error"] is True
            assert body["code"] == "not_your_account"

    assert await _detail(client, admin, member.profile_id) == before  # phone unchanged too
    assert (await _login(client, member.email, member.password)).status_code == 200
    assert (await _login(client, member.email, "i own you now")).status_code == 400


async def test_a_co_admin_cannot_take_over_the_first_admin_with_the_org_api_key(client, factory):
    founder = await factory.admin()
    co_admin = await factory.member_of(founder, role="ADMIN")
    orgs = await client.get("/api/org/", headers=co_admin.bearer)
    api_key = orgs.json()["profile_org_list"][0]["org"]["api_key"]
    assert api_key  # shown to every admin of the org

    response = await client.patch(
        f"/api/user/{founder.profile_id}/",
        json={"password": "taken over 123"},
        headers={"Token": api_key},
    )

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "not_your_account"
    assert (await _login(client, founder.email, founder.password)).status_code == 200


async def test_member_email_change_to_a_taken_email_is_rejected(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    response = await client.patch(
        f"/api/user/{member.profile_id}/", json={"email": admin.email}, headers=member.headers
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email"}


async def test_update_rejects_a_phone_used_by_another_member(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin, phone="+14155550170")
    await factory.member_of(admin, phone="+14155550171")
    response = await client.patch(
        f"/api/user/{member.profile_id}/", json={"phone": "+14155550171"}, headers=member.headers
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"phone"}
    assert (await _detail(client, admin, member.profile_id))["phone"] == "+14155550170"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_the_last_active_admin_cannot_demote_themself(client, factory, method):
    admin = await factory.admin()
    await factory.member_of(admin)

    response = await client.request(
        method, f"/api/user/{admin.profile_id}/", json={"role": "USER"}, headers=admin.headers
    )

    assert response.status_code == 400
    body = response.json()
    assert body["error"] is True
    assert body["code"] == "last_admin"
    assert (await _detail(client, admin, admin.profile_id))["role"] == "ADMIN"


async def test_an_inactive_admin_does_not_count_as_another_admin(client, factory):
    admin = await factory.admin()
    sleeper = await _add_ok(client, admin, role="ADMIN")
    assert (await _set_status(client, admin, sleeper["id"], "Inactive")).status_code == 200

    response = await client.patch(
        f"/api/user/{admin.profile_id}/", json={"role": "USER"}, headers=admin.headers
    )

    assert response.status_code == 400
    assert response.json()["code"] == "last_admin"


async def test_an_admin_may_step_down_when_another_admin_remains(client, factory):
    admin = await factory.admin()
    await factory.member_of(admin, role="ADMIN")

    response = await client.patch(
        f"/api/user/{admin.profile_id}/", json={"role": "USER"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "USER"
    assert (await client.get("/api/users/", headers=admin.headers)).status_code == 403


async def test_update_of_a_malformed_or_unknown_id_is_not_found(client, factory):
    admin = await factory.admin()
    for path in ("/api/user/nope/", f"/api/user/{uuid.uuid4()}/"):
        response = await client.patch(path, json={"role": "USER"}, headers=admin.headers)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


# -- DELETE /api/user/<id>/ ------------------------------------------------------------------


async def test_admin_removes_a_member(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    assert (await client.get("/api/profile/", headers=member.headers)).status_code == 200

    response = await client.delete(f"/api/user/{member.profile_id}/", headers=admin.headers)

    assert response.status_code == 204
    assert response.content == b""
    profile = await client.get("/api/profile/", headers=member.headers)
    assert profile.status_code == 403
    assert profile.json()["error"] is True
    gone = await client.get(f"/api/user/{member.profile_id}/", headers=admin.headers)
    assert gone.status_code == 404
    listed = await client.get("/api/users/", headers=admin.headers)
    assert [p["id"] for p in listed.json()["active_users"]["active_users"]] == [admin.profile_id]
    # The user account survives; only the membership is gone.
    orgs = await client.get("/api/org/", headers=member.bearer)
    assert orgs.status_code == 200
    assert orgs.json()["profile_org_list"] == []
    # ...and can be added again.
    assert (await _add(client, admin, email=member.email)).status_code == 201


async def test_admin_cannot_remove_themself(client, factory):
    admin = await factory.admin()
    await factory.member_of(admin, role="ADMIN")

    response = await client.delete(f"/api/user/{admin.profile_id}/", headers=admin.headers)

    assert response.status_code == 403
    assert response.json()["code"] == "self_removal"
    assert (await client.get("/api/profile/", headers=admin.headers)).status_code == 200


async def test_a_user_cannot_remove_members(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    peer = await factory.member_of(admin)

    for target in (peer.profile_id, member.profile_id, admin.profile_id):
        response = await client.delete(f"/api/user/{target}/", headers=member.headers)
        assert response.status_code == 403
        assert response.json() == DENIED
    assert (await client.get("/api/profile/", headers=peer.headers)).status_code == 200


async def test_remove_of_another_orgs_member_or_unknown_id_is_not_found(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    stranger = await factory.member_of(other)

    foreign = await client.delete(f"/api/user/{stranger.profile_id}/", headers=admin.headers)
    random = await client.delete(f"/api/user/{uuid.uuid4()}/", headers=admin.headers)
    malformed = await client.delete("/api/user/xyz/", headers=admin.headers)

    assert foreign.status_code == random.status_code == malformed.status_code == 404
    assert foreign.json() == random.json() == malformed.json() == NOT_FOUND
    assert (await client.get("/api/profile/", headers=stranger.headers)).status_code == 200


# -- POST /api/user/<id>/status/ -------------------------------------------------------------


async def test_deactivate_and_reactivate_a_member(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    assert (await client.get("/api/profile/", headers=member.headers)).status_code == 200

    response = await _set_status(client, admin, member.profile_id, "Inactive")

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"active_profiles", "inactive_profiles"}
    assert [p["id"] for p in body["active_profiles"]] == [admin.profile_id]
    assert [p["id"] for p in body["inactive_profiles"]] == [member.profile_id]
    assert set(body["inactive_profiles"][0]) == PROFILE_KEYS
    assert body["inactive_profiles"][0]["is_active"] is False

    # The same access token is refused in this org at once...
    denied = await client.get("/api/profile/", headers=member.headers)
    assert denied.status_code == 403
    assert denied.json()["error"] is True
    # ...but is still a valid login for calls that need no org.
    orgs = await client.get("/api/org/", headers=member.bearer)
    assert orgs.status_code == 200
    assert orgs.json()["profile_org_list"] == []

    response = await _set_status(client, admin, member.profile_id, "Active")

    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(p["id"] for p in body["active_profiles"]) == sorted(
        [admin.profile_id, member.profile_id]
    )
    assert body["inactive_profiles"] == []
    again = await client.get("/api/profile/", headers=member.headers)
    assert again.status_code == 200
    assert again.json()["user_obj"]["is_active"] is True


async def test_deactivated_member_is_refused_on_every_org_endpoint(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin, role="ADMIN")
    assert (await _set_status(client, admin, member.profile_id, "Inactive")).status_code == 200
    for path in (
        "/api/users/",
        "/api/teams/",
        "/api/api-settings/",
        f"/api/user/{member.profile_id}/",
    ):
        response = await client.get(path, headers=member.headers)
        assert response.status_code == 403, path


async def test_deactivating_does_not_affect_other_orgs(client, factory):
    admin = await factory.admin()
    member = await factory.admin()  # admin of an org of their own
    added = await _add_ok(client, admin, email=member.email)
    assert (await _set_status(client, admin, added["id"], "Inactive")).status_code == 200
    assert (await client.get("/api/profile/", headers=member.headers)).status_code == 200


async def test_setting_the_current_status_again_is_harmless(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    response = await _set_status(client, admin, member.profile_id, "Active")
    assert response.status_code == 200
    assert response.json()["inactive_profiles"] == []
    assert (await client.get("/api/profile/", headers=member.headers)).status_code == 200


async def test_invalid_status_is_rejected(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)

    for status in ("Sleeping", "", "yes", "Deleted"):
        response = await _set_status(client, admin, member.profile_id, status)

        assert response.status_code == 400, status
        body = response.json()
        assert body["error"] is True
        assert body["errors"] == "Please enter Valid Status for user"
    assert (await client.get("/api/profile/", headers=member.headers)).status_code == 200


async def test_admin_cannot_deactivate_themself(client, factory):
    admin = await factory.admin()
    await factory.member_of(admin, role="ADMIN")

    response = await _set_status(client, admin, admin.profile_id, "Inactive")

    assert response.status_code == 403
    assert response.json()["code"] == "self_removal"
    assert (await client.get("/api/profile/", headers=admin.headers)).status_code == 200


async def test_a_user_cannot_change_anyones_status(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    peer = await factory.member_of(admin)

    for target in (peer.profile_id, admin.profile_id):
        response = await _set_status(client, member, target, "Inactive")
        assert response.status_code == 403
        assert response.json() == DENIED
    assert (await client.get("/api/profile/", headers=peer.headers)).status_code == 200


# -- GET /api/users/get-teams-and-users/ -----------------------------------------------------


async def test_teams_and_users_lists_active_members_by_email_and_all_teams(client, factory):
    admin = await factory.admin()
    tag = uuid.uuid4().hex[:6]
    zed = await _add_ok(client, admin, email=f"zz-{tag}@example.com")
    amy = await _add_ok(client, admin, email=f"aa-{tag}@example.com")
    off = await _add_ok(client, admin, email=f"mm-{tag}@example.com")
    assert (await _set_status(client, admin, off["id"], "Inactive")).status_code == 200
    team = await client.post(
        "/api/teams/", json={"name": "Pickers", "users": [zed["id"]]}, headers=admin.headers
    )
    assert team.status_code == 201, team.text
    other = await factory.admin()
    foreign_team = await client.post("/api/teams/", json={"name": "Pickers"}, headers=other.headers)
    assert foreign_team.status_code == 201

    response = await client.get("/api/users/get-teams-and-users/", headers=admin.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"teams", "profiles"}
    expected = sorted(
        [(admin.email, admin.profile_id), (zed["email"], zed["id"]), (amy["email"], amy["id"])]
    )
    assert [(p["email"], p["id"]) for p in body["profiles"]] == expected
    for profile in body["profiles"]:
        assert set(profile) == PROFILE_KEYS
    assert [t["id"] for t in body["teams"]] == [team.json()["id"]]
    assert [u["id"] for u in body["teams"][0]["users"]] == [zed["id"]]


# -- Cross-org isolation ---------------------------------------------------------------------


async def test_another_orgs_admin_cannot_touch_a_member(client, factory):
    owner = await factory.admin()
    member = await factory.member_of(owner, phone="+14155550180")
    intruder = await factory.admin()
    before = await _detail(client, owner, member.profile_id)
    random = str(uuid.uuid4())
    path = f"/api/user/{member.profile_id}/"
    change = {"role": "ADMIN", "phone": "+14155550181"}

    attempts = [
        ("GET", path, None),
        ("PUT", path, change),
        ("PATCH", path, change),
        ("POST", f"{path}status/", {"status": "Inactive"}),
        ("DELETE", path, None),
    ]
    for method, target, body in attempts:
        response = await client.request(method, target, json=body, headers=intruder.headers)
        control = await client.request(
            method, target.replace(member.profile_id, random), json=body, headers=intruder.headers
        )
        assert response.status_code == 404, (method, response.text)
        assert response.json() == control.json() == NOT_FOUND, method

    assert await _detail(client, owner, member.profile_id) == before
    assert (await client.get("/api/profile/", headers=member.headers)).status_code == 200


async def test_another_orgs_admin_header_with_own_token_is_refused(client, factory):
    """Naming the victim org in the header does not help: the intruder is not a member."""
    owner = await factory.admin()
    member = await factory.member_of(owner)
    intruder = await factory.admin()
    headers = {**intruder.bearer, "organization-id": owner.org_id}
    response = await client.delete(f"/api/user/{member.profile_id}/", headers=headers)
    assert response.status_code == 403
    assert (await client.get("/api/profile/", headers=member.headers)).status_code == 200
