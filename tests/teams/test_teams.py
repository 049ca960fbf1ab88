"""Teams (§15): list, create, read, update, delete; members must be active members of the org."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.shapes import DENIED, MEMBER_BRIEF_KEYS, NOT_FOUND

TEAM_KEYS = {
    "id",
    "name",
    "description",
    "org",
    "users",
    "created_on",
    "created_at",
    "updated_at",
    "created_by",
}


async def _create(client, admin, **body):
    return await client.post("/api/teams/", json=body, headers=admin.headers)


async def _create_ok(client, admin, **body) -> dict:
    body.setdefault("name", f"Team {uuid.uuid4().hex[:8]}")
    response = await _create(client, admin, **body)
    assert response.status_code == 201, response.text
    return response.json()


async def _get(client, caller, team_id) -> dict:
    response = await client.get(f"/api/teams/{team_id}/", headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()["team"]


async def _list(client, caller, **params) -> dict:
    response = await client.get("/api/teams/", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _canonical(team: dict) -> dict:
    """The team with its member list in a fixed order (the API promises no order)."""
    return {**team, "users": sorted(team["users"], key=lambda u: u["id"])}


def _user_ids(team: dict) -> set[str]:
    return {u["id"] for u in team["users"]}


@contextmanager
def _count_statements(engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


# -- list ------------------------------------------------------------------------------------


async def test_list_envelope_items_and_newest_first(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    first = await _create_ok(client, admin, name="First", users=[member.profile_id])
    second = await _create_ok(client, admin, name="Second", description="Two")

    body = await _list(client, admin)

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert body["next"] is None
    assert body["previous"] is None
    assert [t["id"] for t in body["results"]] == [second["id"], first["id"]]
    item = body["results"][1]
    assert set(item) == TEAM_KEYS
    assert item["name"] == "First"
    assert item["description"] == ""
    assert item["org"] == admin.org_id
    assert item["created_by"] == admin.profile_id
    assert item["created_on"] == item["created_at"]
    assert item["users"] == [
        {
            "id": member.profile_id,
            "first_name": "",
            "last_name": "",
            "email": member.email,
            "role": "USER",
        }
    ]
    assert body["results"][0]["description"] == "Two"
    assert body["results"][0]["users"] == []


async def test_list_pages_with_links(client, factory):
    admin = await factory.admin()
    created = [await _create_ok(client, admin, name=f"Page{i}") for i in range(7)]
    newest_first = [t["id"] for t in reversed(created)]

    first = await _list(client, admin, limit=5)
    second = await _list(client, admin, limit=5, offset=5)

    assert first["count"] == second["count"] == 7
    assert [t["id"] for t in first["results"]] == newest_first[:5]
    assert [t["id"] for t in second["results"]] == newest_first[5:]
    assert first["next"] == "/api/teams/?limit=5&offset=5"
    assert first["previous"] is None
    assert second["next"] is None
    assert second["previous"] == "/api/teams/?limit=5&offset=0"

    filtered = await _list(client, admin, name="page", limit=5)
    assert filtered["next"] == "/api/teams/?name=page&limit=5&offset=5"


async def test_list_filter_by_name_is_partial_and_case_insensitive(client, factory):
    admin = await factory.admin()
    sales = await _create_ok(client, admin, name="Inside Sales")
    await _create_ok(client, admin, name="Support")

    for param in ("name", "team_name"):
        body = await _list(client, admin, **{param: "SALES"})

        assert body["count"] == 1, param
        assert [t["id"] for t in body["results"]] == [sales["id"]]


async def test_list_name_filter_treats_wildcards_literally(client, factory):
    admin = await factory.admin()
    await _create_ok(client, admin, name="Alpha")
    assert (await _list(client, admin, name="%"))["count"] == 0
    assert (await _list(client, admin, name="_"))["count"] == 0


async def test_list_filter_by_creator(client, factory):
    admin = await factory.admin()
    co_admin = await factory.member_of(admin, role="ADMIN")
    mine = await _create_ok(client, admin)
    theirs = await _create_ok(client, co_admin)

    by_me = await _list(client, admin, created_by=admin.profile_id)
    by_them = await _list(client, admin, created_by=co_admin.profile_id)
    by_both = await _list(client, admin, created_by=f"{admin.profile_id},{co_admin.profile_id}")
    by_nobody = await _list(client, admin, created_by=str(uuid.uuid4()))

    assert [t["id"] for t in by_me["results"]] == [mine["id"]]
    assert [t["id"] for t in by_them["results"]] == [theirs["id"]]
    assert by_both["count"] == 2
    assert by_nobody["count"] == 0


async def test_list_filter_by_assigned_users(client, factory):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    ben = await factory.member_of(admin)
    with_ann = await _create_ok(client, admin, users=[ann.profile_id])
    with_both = await _create_ok(client, admin, users=[ann.profile_id, ben.profile_id])
    await _create_ok(client, admin)

    only_ann = await _list(client, admin, assigned_users=ann.profile_id)
    only_ben = await _list(client, admin, assigned_users=ben.profile_id)
    repeated = await client.get(
        "/api/teams/",
        params=[("assigned_users", ann.profile_id), ("assigned_users", ben.profile_id)],
        headers=admin.headers,
    )

    assert {t["id"] for t in only_ann["results"]} == {with_ann["id"], with_both["id"]}
    assert only_ann["count"] == 2
    assert [t["id"] for t in only_ben["results"]] == [with_both["id"]]
    # A team that matches through two members is still listed once.
    assert repeated.status_code == 200
    assert repeated.json()["count"] == 2
    assert sorted(t["id"] for t in repeated.json()["results"]) == sorted(
        [with_ann["id"], with_both["id"]]
    )


async def test_list_filter_with_a_bad_uuid_is_rejected(client, factory):
    admin = await factory.admin()
    for param in ("assigned_users", "created_by"):
        for value in ("nope", f"{uuid.uuid4()},nope"):
            response = await client.get("/api/teams/", params={param: value}, headers=admin.headers)
            assert response.status_code == 400, (param, value)
            body = response.json()
            assert body["error"] is True
            assert set(body["errors"]) == {param}


async def test_every_member_can_read_teams(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    team = await _create_ok(client, admin, name="Readable")

    listed = await _list(client, member)
    detail = await _get(client, member, team["id"])

    assert [t["id"] for t in listed["results"]] == [team["id"]]
    assert detail == team


async def test_list_needs_org_membership(client, factory):
    admin = await factory.admin()
    outsider = await factory.user()
    response = await client.get(
        "/api/teams/", headers={**outsider.bearer, "organization-id": admin.org_id}
    )
    assert response.status_code == 403
    assert (await client.get("/api/teams/")).status_code == 401


async def test_list_statement_count_does_not_grow_with_page_size(client, factory, test_database):
    admin = await factory.admin()
    members = [await factory.member_of(admin) for _ in range(3)]
    member_ids = [m.profile_id for m in members]
    for i in range(12):
        await _create_ok(client, admin, name=f"Counted {i:02}", users=member_ids)
    engine = test_database.engine.sync_engine

    with _count_statements(engine) as small:
        few = await client.get("/api/teams/", params={"limit": 5}, headers=admin.headers)
    with _count_statements(engine) as large:
        many = await client.get("/api/teams/", params={"limit": 100}, headers=admin.headers)

    assert few.status_code == many.status_code == 200
    assert len(few.json()["results"]) == 5
    assert len(many.json()["results"]) == 12
    assert all(len(t["users"]) == 3 for t in many.json()["results"])
    assert len(small) > 0
    assert len(small) == len(large), (small, large)


# -- create ----------------------------------------------------------------------------------


async def test_create_returns_the_team(client, factory):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    ben = await factory.member_of(admin, role="ADMIN")

    response = await _create(
        client,
        admin,
        name="  Closers  ",
        description="Deal closers",
        users=[ann.profile_id, ben.profile_id],
    )

    assert response.status_code == 201, response.text
    team = response.json()
    assert set(team) == TEAM_KEYS
    uuid.UUID(team["id"])
    assert team["name"] == "Closers"
    assert team["description"] == "Deal closers"
    assert team["org"] == admin.org_id
    assert team["created_by"] == admin.profile_id
    assert _user_ids(team) == {ann.profile_id, ben.profile_id}
    for user in team["users"]:
        assert set(user) == MEMBER_BRIEF_KEYS
    roles = {u["id"]: u["role"] for u in team["users"]}
    assert roles == {ann.profile_id: "USER", ben.profile_id: "ADMIN"}
    assert _canonical(await _get(client, admin, team["id"])) == _canonical(team)


async def test_create_is_admin_only(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)

    response = await _create(client, member, name="Rogue")

    assert response.status_code == 403
    assert response.json() == DENIED
    assert (await _list(client, admin))["count"] == 0


async def test_create_requires_a_name(client, factory):
    admin = await factory.admin()
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": None}, {"description": "no name"}):
        response = await _create(client, admin, **body)
        assert response.status_code == 400, body
        payload = response.json()
        assert payload["error"] is True
        assert set(payload["errors"]) == {"name"}, body
    assert (await _list(client, admin))["count"] == 0


async def test_create_rejects_a_too_long_name(client, factory):
    admin = await factory.admin()
    response = await _create(client, admin, name="x" * 101)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name"}
    assert (await _create(client, admin, name="x" * 100)).status_code == 201


async def test_create_rejects_a_duplicate_name_case_insensitively(client, factory):
    admin = await factory.admin()
    await _create_ok(client, admin, name="Sales")

    for duplicate in ("Sales", "SALES", "sales", " sales "):
        response = await _create(client, admin, name=duplicate)

        assert response.status_code == 400, duplicate
        assert response.json() == {
            "error": True,
            "errors": {"name": ["Team already exists with this name"]},
            "code": "team_name_taken",
        }
    assert (await _list(client, admin))["count"] == 1


async def test_duplicate_team_name_check_folds_non_ascii_case(client, factory, backend, request):
    admin = await factory.admin()
    await _create_ok(client, admin, name="Équipe")

    response = await _create(client, admin, name="équipe")

    assert response.status_code == 400, response.text
    assert response.json()["errors"] == {"name": ["Team already exists with this name"]}


async def test_name_filter_folds_non_ascii_case(client, factory, backend, request):
    admin = await factory.admin()
    team = await _create_ok(client, admin, name="Équipe Nord")

    body = await _list(client, admin, name="équipe")

    assert [t["id"] for t in body["results"]] == [team["id"]]


async def test_the_same_team_name_may_exist_in_another_org(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    await _create_ok(client, admin, name="Sales")
    response = await _create(client, other, name="Sales")
    assert response.status_code == 201, response.text


async def test_create_rejects_another_orgs_profile_as_member(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    stranger = await factory.member_of(other)
    member = await factory.member_of(admin)

    for users in (
        [stranger.profile_id],
        [member.profile_id, stranger.profile_id],
        [other.profile_id],
    ):
        response = await _create(client, admin, name="Mixed", users=users)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] is True
        assert set(body["errors"]) == {"users"}
    assert (await _list(client, admin))["count"] == 0


async def test_create_rejects_members_that_are_not_active_members(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    sleeper = await factory.member_of(admin)
    deactivated = await client.post(
        f"/api/user/{sleeper.profile_id}/status/",
        json={"status": "Inactive"},
        headers=admin.headers,
    )
    assert deactivated.status_code == 200

    for users in (
        [sleeper.profile_id],
        [member.profile_id, sleeper.profile_id],
        [str(uuid.uuid4())],
        ["not-a-uuid"],
        "not-a-uuid",
    ):
        response = await _create(client, admin, name="Bad members", users=users)

        assert response.status_code == 400, (users, response.text)
        assert set(response.json()["errors"]) == {"users"}
    assert (await _list(client, admin))["count"] == 0


async def test_create_accepts_the_member_list_in_every_client_form(client, factory):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    ben = await factory.member_of(admin)
    ids = [ann.profile_id, ben.profile_id]
    forms = {
        "array": {"users": ids},
        "comma": {"users": f"{ids[0]}, {ids[1]}"},
        "json_string": {"users": json.dumps(ids)},
        "alias": {"assign_users": ids},
    }

    for form, body in forms.items():
        team = await _create_ok(client, admin, name=f"Form {form}", **body)

        assert _user_ids(team) == set(ids), form
        assert _user_ids(await _get(client, admin, team["id"])) == set(ids), form


async def test_create_with_a_repeated_member_adds_them_once(client, factory):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    team = await _create_ok(client, admin, users=[ann.profile_id, ann.profile_id])
    assert [u["id"] for u in team["users"]] == [ann.profile_id]


# -- detail ----------------------------------------------------------------------------------


async def test_detail_envelope(client, factory):
    admin = await factory.admin()
    team = await _create_ok(client, admin, name="Detail")

    response = await client.get(f"/api/teams/{team['id']}/", headers=admin.headers)

    assert response.status_code == 200
    assert set(response.json()) == {"team"}
    assert response.json()["team"] == team


async def test_detail_of_a_malformed_or_unknown_id_is_not_found(client, factory):
    admin = await factory.admin()
    for team_id in ("nope", "123", str(uuid.uuid4())):
        response = await client.get(f"/api/teams/{team_id}/", headers=admin.headers)
        assert response.status_code == 404, team_id
        assert response.json() == NOT_FOUND


# -- update ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_description_only_keeps_name_and_members(client, factory, method):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    team = await _create_ok(client, admin, name="Keep", users=[ann.profile_id])

    response = await client.request(
        method, f"/api/teams/{team['id']}/", json={"description": "New"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert set(updated) == TEAM_KEYS
    assert updated["description"] == "New"
    assert updated["name"] == "Keep"
    assert _user_ids(updated) == {ann.profile_id}
    assert await _get(client, admin, team["id"]) == updated


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_users_replaces_the_members(client, factory, method):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    ben = await factory.member_of(admin)
    team = await _create_ok(client, admin, name="Swap", description="D", users=[ann.profile_id])

    response = await client.request(
        method, f"/api/teams/{team['id']}/", json={"users": [ben.profile_id]}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert _user_ids(response.json()) == {ben.profile_id}
    assert response.json()["description"] == "D"
    stored = await _get(client, admin, team["id"])
    assert _user_ids(stored) == {ben.profile_id}

    cleared = await client.request(
        method, f"/api/teams/{team['id']}/", json={"assign_users": []}, headers=admin.headers
    )
    assert cleared.status_code == 200
    assert cleared.json()["users"] == []
    assert (await _get(client, admin, team["id"]))["users"] == []


async def test_update_rename(client, factory):
    admin = await factory.admin()
    team = await _create_ok(client, admin, name="Old")

    renamed = await client.patch(
        f"/api/teams/{team['id']}/", json={"name": "New"}, headers=admin.headers
    )
    recased = await client.patch(
        f"/api/teams/{team['id']}/", json={"name": "NEW"}, headers=admin.headers
    )

    assert renamed.status_code == 200
    assert renamed.json()["name"] == "New"
    assert recased.status_code == 200, recased.text
    assert recased.json()["name"] == "NEW"
    assert (await _list(client, admin, name="old"))["count"] == 0


async def test_update_rejects_a_duplicate_name(client, factory):
    admin = await factory.admin()
    await _create_ok(client, admin, name="Taken")
    team = await _create_ok(client, admin, name="Mine")

    response = await client.patch(
        f"/api/teams/{team['id']}/", json={"name": "taken"}, headers=admin.headers
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["Team already exists with this name"]}
    assert (await _get(client, admin, team["id"]))["name"] == "Mine"


async def test_update_rejects_members_from_another_org(client, factory):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    other = await factory.admin()
    stranger = await factory.member_of(other)
    team = await _create_ok(client, admin, users=[ann.profile_id])

    response = await client.put(
        f"/api/teams/{team['id']}/",
        json={"users": [stranger.profile_id], "description": "changed"},
        headers=admin.headers,
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"users"}
    assert await _get(client, admin, team["id"]) == team


async def test_update_and_delete_are_admin_only(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    team = await _create_ok(client, admin, name="Guarded", users=[member.profile_id])
    path = f"/api/teams/{team['id']}/"

    for method, body in (("PUT", {"name": "Mine"}), ("PATCH", {"users": []}), ("DELETE", None)):
        response = await client.request(method, path, json=body, headers=member.headers)
        assert response.status_code == 403, method
        assert response.json() == DENIED

    assert await _get(client, admin, team["id"]) == team


async def test_update_of_an_unknown_team_is_not_found(client, factory):
    admin = await factory.admin()
    response = await client.patch(
        f"/api/teams/{uuid.uuid4()}/", json={"name": "X"}, headers=admin.headers
    )
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# -- delete ----------------------------------------------------------------------------------


async def test_delete_then_not_found(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    team = await _create_ok(client, admin, users=[member.profile_id])
    keep = await _create_ok(client, admin)

    response = await client.delete(f"/api/teams/{team['id']}/", headers=admin.headers)

    assert response.status_code == 204
    assert response.content == b""
    gone = await client.get(f"/api/teams/{team['id']}/", headers=admin.headers)
    assert gone.status_code == 404
    assert gone.json() == NOT_FOUND
    again = await client.delete(f"/api/teams/{team['id']}/", headers=admin.headers)
    assert again.status_code == 404
    assert [t["id"] for t in (await _list(client, admin))["results"]] == [keep["id"]]
    # The members themselves are untouched.
    assert (await client.get("/api/profile/", headers=member.headers)).status_code == 200


async def test_removing_a_member_from_the_org_drops_them_from_teams(client, factory):
    admin = await factory.admin()
    creator = await factory.member_of(admin, role="ADMIN")
    ann = await factory.member_of(admin)
    ben = await factory.member_of(admin)
    team = await _create_ok(client, creator, users=[ann.profile_id, ben.profile_id])

    for member in (ann, creator):
        removed = await client.delete(f"/api/user/{member.profile_id}/", headers=admin.headers)
        assert removed.status_code == 204

    stored = await _get(client, admin, team["id"])
    assert _user_ids(stored) == {ben.profile_id}
    assert stored["created_by"] is None
    assert (await _list(client, admin, assigned_users=ann.profile_id))["count"] == 0


# -- cross-org isolation ---------------------------------------------------------------------


async def test_another_orgs_admin_cannot_touch_a_team(client, factory):
    owner = await factory.admin()
    member = await factory.member_of(owner)
    team = await _create_ok(client, owner, name="Private", users=[member.profile_id])
    intruder = await factory.admin()
    path = f"/api/teams/{team['id']}/"
    random_path = f"/api/teams/{uuid.uuid4()}/"
    change = {"name": "Hijacked", "description": "x", "users": []}

    for method, body in (("GET", None), ("PUT", change), ("PATCH", change), ("DELETE", None)):
        response = await client.request(method, path, json=body, headers=intruder.headers)
        control = await client.request(method, random_path, json=body, headers=intruder.headers)
        assert response.status_code == control.status_code == 404, method
        assert response.json() == control.json() == NOT_FOUND, method

    assert await _get(client, owner, team["id"]) == team
    assert (await _list(client, intruder))["count"] == 0
    assert (await _list(client, intruder, assigned_users=member.profile_id))["count"] == 0
    assert (await _list(client, intruder, created_by=owner.profile_id))["count"] == 0


async def test_another_orgs_admin_cannot_add_our_members_to_their_team(client, factory):
    owner = await factory.admin()
    member = await factory.member_of(owner)
    intruder = await factory.admin()

    response = await _create(client, intruder, name="Poach", users=[member.profile_id])

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"users"}
