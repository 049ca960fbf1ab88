"""Website lead-capture keys (§2.7): members read, admins write; tags created on first use."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from crm.core.tenancy import unscoped
from crm.models import Tag
from tests.shapes import DENIED, MEMBER_BRIEF_KEYS, NOT_FOUND

SETTING_KEYS = {
    "id",
    "title",
    "apikey",
    "website",
    "org",
    "created_by",
    "created_on",
    "created_at",
    "updated_at",
    "lead_assigned_to",
    "tags",
}
BAD_SCHEMA = "Please provide valid schema"
BAD_URL = (
    "Please provide a valid URL with schema and without trailing slash - Example: http://google.com"
)
APIKEY = re.compile(r"^[0-9a-f]{16}$")


async def _create(client, admin, **body):
    payload = {"title": "Website", "website": "https://acme.com", **body}
    return await client.post("/api/api-settings/", json=payload, headers=admin.headers)


async def _create_ok(client, admin, **body) -> dict:
    response = await _create(client, admin, **body)
    assert response.status_code == 201, response.text
    return response.json()


async def _get(client, caller, setting_id) -> dict:
    response = await client.get(f"/api/api-settings/{setting_id}/", headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()["domain"]


async def _tags_of_org(test_database, org_id: str) -> list[Tag]:
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            result = await session.execute(
                select(Tag).where(Tag.org_id == uuid.UUID(org_id)).order_by(Tag.slug)
            )
            return list(result.scalars())


def _canonical(setting: dict) -> dict:
    """The setting with its lists in a fixed order (the API promises no order)."""
    return {
        **setting,
        "tags": sorted(setting["tags"]),
        "lead_assigned_to": sorted(setting["lead_assigned_to"], key=lambda p: p["id"]),
    }


def _ids(people: list[dict]) -> set[str]:
    return {p["id"] for p in people}


# -- list ------------------------------------------------------------------------------------


async def test_list_shape_and_readable_by_users(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    idle = await factory.member_of(admin)
    deactivated = await client.post(
        f"/api/user/{idle.profile_id}/status/", json={"status": "Inactive"}, headers=admin.headers
    )
    assert deactivated.status_code == 200
    older = await _create_ok(client, admin, title="Old site")
    newer = await _create_ok(client, admin, title="New site", lead_assigned_to=[member.profile_id])

    response = await client.get("/api/api-settings/", headers=member.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"error", "api_settings", "users"}
    assert body["error"] is False
    assert [s["id"] for s in body["api_settings"]] == [newer["id"], older["id"]]
    assert body["api_settings"][0] == newer
    for setting in body["api_settings"]:
        assert set(setting) == SETTING_KEYS
    # ``users``: the org's active members (the picker for lead_assigned_to).
    assert sorted(u["id"] for u in body["users"]) == sorted([admin.profile_id, member.profile_id])
    assert all(u["is_active"] for u in body["users"])


async def test_list_is_empty_for_a_new_org(client, factory):
    admin = await factory.admin()
    response = await client.get("/api/api-settings/", headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["api_settings"] == []


async def test_list_needs_membership(client, factory):
    admin = await factory.admin()
    outsider = await factory.user()
    response = await client.get(
        "/api/api-settings/", headers={**outsider.bearer, "organization-id": admin.org_id}
    )
    assert response.status_code == 403
    assert (await client.get("/api/api-settings/")).status_code == 401


# -- create ----------------------------------------------------------------------------------


async def test_create_returns_the_setting(client, factory):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    ben = await factory.member_of(admin, role="ADMIN")

    response = await client.post(
        "/api/api-settings/",
        json={
            "title": "  Landing page  ",
            "website": "https://www.acme.com",
            "lead_assigned_to": [ann.profile_id, ben.profile_id],
            "tags": ["Web", "Inbound"],
        },
        headers=admin.headers,
    )

    assert response.status_code == 201, response.text
    setting = response.json()
    assert set(setting) == SETTING_KEYS
    uuid.UUID(setting["id"])
    assert setting["title"] == "Landing page"
    assert APIKEY.match(setting["apikey"]), setting["apikey"]
    assert setting["website"] == "https://www.acme.com"
    assert setting["org"] == admin.org_id
    assert setting["created_by"] == admin.profile_id
    assert setting["created_on"] == setting["created_at"]
    assert sorted(setting["tags"]) == ["Inbound", "Web"]
    assert _ids(setting["lead_assigned_to"]) == {ann.profile_id, ben.profile_id}
    for person in setting["lead_assigned_to"]:
        assert set(person) == MEMBER_BRIEF_KEYS
    assert {p["id"]: p["email"] for p in setting["lead_assigned_to"]} == {
        ann.profile_id: ann.email,
        ben.profile_id: ben.email,
    }
    assert _canonical(await _get(client, admin, setting["id"])) == _canonical(setting)


async def test_each_setting_gets_its_own_apikey(client, factory):
    admin = await factory.admin()
    keys = {(await _create_ok(client, admin))["apikey"] for _ in range(3)}
    assert len(keys) == 3
    assert all(APIKEY.match(k) for k in keys)


async def test_create_with_no_lists(client, factory):
    admin = await factory.admin()
    setting = await _create_ok(client, admin)
    assert setting["tags"] == []
    assert setting["lead_assigned_to"] == []


async def test_create_is_admin_only(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)

    response = await _create(client, member)

    assert response.status_code == 403
    assert response.json() == DENIED
    listed = await client.get("/api/api-settings/", headers=admin.headers)
    assert listed.json()["api_settings"] == []


async def test_create_requires_title_and_website(client, factory):
    admin = await factory.admin()
    for body in ({"title": ""}, {"title": "   "}, {"title": None}, {"website": None}):
        response = await _create(client, admin, **body)
        assert response.status_code == 400, body
        assert set(response.json()["errors"]) == set(body), body
    missing = await client.post("/api/api-settings/", json={}, headers=admin.headers)
    assert missing.status_code == 400
    assert set(missing.json()["errors"]) == {"title", "website"}


BAD_WEBSITES = [
    ("ftp://x.com", BAD_SCHEMA),
    ("acme.com", BAD_SCHEMA),
    ("www.acme.com", BAD_SCHEMA),
    ("https://acme.com/", BAD_URL),
    ("https://acme.com/path", BAD_URL),
    ("http://acme.com:8080/", BAD_URL),
    ("https://acme", BAD_URL),
    ("http://acme.com:123456", BAD_URL),
    ("https://acme.com?x=1", BAD_URL),
]


async def test_create_rejects_a_bad_website(client, factory):
    admin = await factory.admin()

    for website, message in BAD_WEBSITES:
        response = await _create(client, admin, website=website)

        assert response.status_code == 400, (website, response.text)
        body = response.json()
        assert body["error"] is True
        assert set(body["errors"]) == {"website"}
        assert len(body["errors"]["website"]) == 1
        assert message in body["errors"]["website"][0], website
    listed = await client.get("/api/api-settings/", headers=admin.headers)
    assert listed.json()["api_settings"] == []


async def test_website_error_message_is_exactly_the_contract_text(client, factory):
    admin = await factory.admin()
    response = await _create(client, admin, website="ftp://x.com")
    assert response.status_code == 400
    assert response.json()["errors"] == {"website": [BAD_SCHEMA]}


async def test_create_accepts_a_good_website(client, factory):
    admin = await factory.admin()
    for website in (
        "http://acme.com:8080",
        "https://acme.com",
        "http://sub.acme.co.uk",
        "https://my-site.io:443",
    ):
        setting = await _create_ok(client, admin, website=website)
        assert setting["website"] == website


async def test_tags_are_created_once_per_org_and_reused_case_insensitively(
    client, factory, test_database
):
    admin = await factory.admin()
    other = await factory.admin()

    first = await _create_ok(client, admin, tags=["Web"])
    second = await _create_ok(client, admin, tags=["web", "Ads"])
    foreign = await _create_ok(client, other, tags=["WEB"])

    assert first["tags"] == ["Web"]
    assert sorted(second["tags"]) == ["Ads", "Web"]  # the existing tag, under its first name
    assert foreign["tags"] == ["WEB"]  # another org has its own tags
    tags = await _tags_of_org(test_database, admin.org_id)
    assert [(t.name, t.slug) for t in tags] == [("Ads", "ads"), ("Web", "web")]
    foreign_tags = await _tags_of_org(test_database, other.org_id)
    assert [(t.name, t.slug) for t in foreign_tags] == [("WEB", "web")]
    assert {t.id for t in tags}.isdisjoint({t.id for t in foreign_tags})


async def test_the_same_tag_twice_in_one_request_is_stored_once(client, factory, test_database):
    admin = await factory.admin()
    setting = await _create_ok(client, admin, tags=["Promo", "promo", " PROMO "])
    assert setting["tags"] == ["Promo"]
    assert [t.slug for t in await _tags_of_org(test_database, admin.org_id)] == ["promo"]


async def test_create_accepts_string_encoded_lists(client, factory):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    for body in (
        {"tags": "Web, Ads", "lead_assigned_to": ann.profile_id},
        {"tags": '["Web", "Ads"]', "lead_assigned_to": f'["{ann.profile_id}"]'},
    ):
        setting = await _create_ok(client, admin, **body)
        assert sorted(setting["tags"]) == ["Ads", "Web"], body
        assert _ids(setting["lead_assigned_to"]) == {ann.profile_id}, body


async def test_tags_differing_only_by_a_non_ascii_letter_stay_apart(client, factory, test_database):
    admin = await factory.admin()
    await _create_ok(client, admin, tags=["Über"])

    setting = await _create_ok(client, admin, tags=["ber"])

    assert setting["tags"] == ["ber"]
    assert len(await _tags_of_org(test_database, admin.org_id)) == 2


async def test_a_tag_name_in_a_non_latin_script_is_accepted(client, factory):
    admin = await factory.admin()
    response = await _create(client, admin, tags=["日本"])
    assert response.status_code == 201, response.text
    assert response.json()["tags"] == ["日本"]


async def test_a_tag_longer_than_20_characters_is_rejected(client, factory, test_database):
    admin = await factory.admin()

    response = await _create(client, admin, tags=["ok", "x" * 21])

    assert response.status_code == 400
    body = response.json()
    assert body["error"] is True
    assert set(body["errors"]) == {"tags"}
    assert await _tags_of_org(test_database, admin.org_id) == []
    assert (await client.get("/api/api-settings/", headers=admin.headers)).json()[
        "api_settings"
    ] == []
    assert (await _create(client, admin, tags=["y" * 20])).status_code == 201


async def test_assignees_must_be_active_members(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    stranger = await factory.member_of(other)
    member = await factory.member_of(admin)
    sleeper = await factory.member_of(admin)
    deactivated = await client.post(
        f"/api/user/{sleeper.profile_id}/status/",
        json={"status": "Inactive"},
        headers=admin.headers,
    )
    assert deactivated.status_code == 200

    for assignees in (
        [stranger.profile_id],
        [other.profile_id],
        [member.profile_id, sleeper.profile_id],
        [str(uuid.uuid4())],
        ["nope"],
    ):
        response = await _create(client, admin, lead_assigned_to=assignees)

        assert response.status_code == 400, (assignees, response.text)
        assert set(response.json()["errors"]) == {"lead_assigned_to"}
    listed = await client.get("/api/api-settings/", headers=admin.headers)
    assert listed.json()["api_settings"] == []


# -- detail ----------------------------------------------------------------------------------


async def test_detail_envelope_and_readable_by_users(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    setting = await _create_ok(client, admin, tags=["Web"])

    response = await client.get(f"/api/api-settings/{setting['id']}/", headers=member.headers)

    assert response.status_code == 200
    assert response.json() == {"error": False, "domain": setting}


async def test_detail_of_a_malformed_or_unknown_id_is_not_found(client, factory):
    admin = await factory.admin()
    for setting_id in ("nope", str(uuid.uuid4())):
        response = await client.get(f"/api/api-settings/{setting_id}/", headers=admin.headers)
        assert response.status_code == 404, setting_id
        assert response.json() == NOT_FOUND


# -- update ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_partial_update_keeps_lists_not_sent(client, factory, method):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    setting = await _create_ok(client, admin, tags=["Web"], lead_assigned_to=[ann.profile_id])

    response = await client.request(
        method,
        f"/api/api-settings/{setting['id']}/",
        json={"title": "Renamed", "website": "http://acme.com:8080"},
        headers=admin.headers,
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert set(updated) == SETTING_KEYS
    assert updated["title"] == "Renamed"
    assert updated["website"] == "http://acme.com:8080"
    assert updated["apikey"] == setting["apikey"]
    assert updated["tags"] == ["Web"]
    assert _ids(updated["lead_assigned_to"]) == {ann.profile_id}
    assert await _get(client, admin, setting["id"]) == updated


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_replaces_lists_when_sent(client, factory, method, test_database):
    admin = await factory.admin()
    ann = await factory.member_of(admin)
    ben = await factory.member_of(admin)
    setting = await _create_ok(
        client, admin, title="T", tags=["Web", "Ads"], lead_assigned_to=[ann.profile_id]
    )

    response = await client.request(
        method,
        f"/api/api-settings/{setting['id']}/",
        json={"tags": ["ads", "Partners"], "lead_assigned_to": [ben.profile_id]},
        headers=admin.headers,
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "T"
    assert sorted(updated["tags"]) == ["Ads", "Partners"]
    assert _ids(updated["lead_assigned_to"]) == {ben.profile_id}
    assert _canonical(await _get(client, admin, setting["id"])) == _canonical(updated)
    slugs = [t.slug for t in await _tags_of_org(test_database, admin.org_id)]
    assert slugs == ["ads", "partners", "web"]  # tags outlive the settings that used them

    cleared = await client.request(
        method,
        f"/api/api-settings/{setting['id']}/",
        json={"tags": [], "lead_assigned_to": []},
        headers=admin.headers,
    )
    assert cleared.status_code == 200
    assert cleared.json()["tags"] == []
    assert cleared.json()["lead_assigned_to"] == []


async def test_invalid_update_changes_nothing(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    setting = await _create_ok(client, admin, tags=["Web"])
    invalid = [
        {"website": "https://acme.com/"},
        {"website": "ftp://acme.com"},
        {"title": ""},
        {"tags": ["x" * 21]},
        {"lead_assigned_to": [str(uuid.uuid4())]},
        {"lead_assigned_to": [other.profile_id]},
    ]

    for method in ("PUT", "PATCH"):
        for body in invalid:
            response = await client.request(
                method, f"/api/api-settings/{setting['id']}/", json=body, headers=admin.headers
            )
            assert response.status_code == 400, (method, body, response.text)
            assert set(response.json()["errors"]) == set(body), body

    # A valid change sent with an invalid one is not kept either.
    mixed = await client.patch(
        f"/api/api-settings/{setting['id']}/",
        json={"title": "Changed", "tags": ["Fine", "x" * 21]},
        headers=admin.headers,
    )
    assert mixed.status_code == 400
    assert set(mixed.json()["errors"]) == {"tags"}
    assert await _get(client, admin, setting["id"]) == setting


async def test_update_of_an_unknown_setting_is_not_found(client, factory):
    admin = await factory.admin()
    response = await client.patch(
        f"/api/api-settings/{uuid.uuid4()}/", json={"title": "X"}, headers=admin.headers
    )
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# -- delete ----------------------------------------------------------------------------------


async def test_delete_then_not_found(client, factory):
    admin = await factory.admin()
    setting = await _create_ok(client, admin, tags=["Web"])
    keep = await _create_ok(client, admin)

    response = await client.delete(f"/api/api-settings/{setting['id']}/", headers=admin.headers)

    assert response.status_code == 204
    assert response.content == b""
    gone = await client.get(f"/api/api-settings/{setting['id']}/", headers=admin.headers)
    assert gone.status_code == 404
    assert gone.json() == NOT_FOUND
    listed = await client.get("/api/api-settings/", headers=admin.headers)
    assert [s["id"] for s in listed.json()["api_settings"]] == [keep["id"]]


async def test_writes_are_admin_only(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    setting = await _create_ok(client, admin, tags=["Web"], lead_assigned_to=[member.profile_id])
    path = f"/api/api-settings/{setting['id']}/"

    for method, body in (
        ("PUT", {"title": "Mine"}),
        ("PATCH", {"lead_assigned_to": []}),
        ("DELETE", None),
    ):
        response = await client.request(method, path, json=body, headers=member.headers)
        assert response.status_code == 403, method
        assert response.json() == DENIED

    assert await _get(client, admin, setting["id"]) == setting


async def test_removing_a_member_drops_them_from_assignees(client, factory):
    admin = await factory.admin()
    creator = await factory.member_of(admin, role="ADMIN")
    ann = await factory.member_of(admin)
    ben = await factory.member_of(admin)
    setting = await _create_ok(client, creator, lead_assigned_to=[ann.profile_id, ben.profile_id])

    for member in (ann, creator):
        removed = await client.delete(f"/api/user/{member.profile_id}/", headers=admin.headers)
        assert removed.status_code == 204

    stored = await _get(client, admin, setting["id"])
    assert _ids(stored["lead_assigned_to"]) == {ben.profile_id}
    assert stored["created_by"] is None
    assert stored["apikey"] == setting["apikey"]


# -- cross-org isolation ---------------------------------------------------------------------


async def test_another_orgs_admin_cannot_touch_a_setting(client, factory):
    owner = await factory.admin()
    member = await factory.member_of(owner)
    setting = await _create_ok(
        client, owner, title="Private", tags=["Web"], lead_assigned_to=[member.profile_id]
    )
    intruder = await factory.admin()
    path = f"/api/api-settings/{setting['id']}/"
    random_path = f"/api/api-settings/{uuid.uuid4()}/"
    change = {
        "title": "Hijacked",
        "website": "https://evil.com",
        "tags": [],
        "lead_assigned_to": [],
    }

    for method, body in (("GET", None), ("PUT", change), ("PATCH", change), ("DELETE", None)):
        response = await client.request(method, path, json=body, headers=intruder.headers)
        control = await client.request(method, random_path, json=body, headers=intruder.headers)
        assert response.status_code == control.status_code == 404, method
        assert response.json() == control.json() == NOT_FOUND, method

    assert await _get(client, owner, setting["id"]) == setting
    listed = await client.get("/api/api-settings/", headers=intruder.headers)
    assert listed.json()["api_settings"] == []
    assert member.profile_id not in _ids(listed.json()["users"])
