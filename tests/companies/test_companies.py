"""Lead companies (§7) through the HTTP API: create, list, detail, partial update, delete,
who may write, uniqueness and isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from crm.core.db import Database
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.shapes import DENIED, NOT_FOUND

COMPANY_KEYS = {
    "id",
    "name",
    "industry",
    "website",
    "created_from_lead",
    "org",
    "created_on",
    "created_at",
    "updated_at",
    "created_by",
}
LIST_URL = "/api/leads/companies/"


def _url(company_id: str) -> str:
    return f"/api/leads/company/{company_id}/"


async def _post(client: httpx.AsyncClient, member: Member, **body: Any) -> httpx.Response:
    return await client.post(LIST_URL, json=body, headers=member.headers)


async def _create(client: httpx.AsyncClient, member: Member, **body: Any) -> dict[str, Any]:
    body.setdefault("name", f"Company {uuid.uuid4().hex[:8]}")
    response = await _post(client, member, **body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _list(client: httpx.AsyncClient, member: Member, **params: Any) -> dict[str, Any]:
    response = await client.get(LIST_URL, params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _names(page: dict[str, Any]) -> list[str]:
    return [c["name"] for c in page["companies"]]


def _field_error(response: httpx.Response, field: str) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] is True
    assert field in body["errors"], body
    return list(body["errors"][field])


@pytest.fixture
async def admin(factory: Factory) -> Member:
    return await factory.admin()


async def test_create_returns_the_company(client: httpx.AsyncClient, admin: Member) -> None:
    created = await _create(
        client, admin, name="Acme Labs", industry="Software", website="https://acme.example.com"
    )
    assert set(created) == COMPANY_KEYS
    assert (created["name"], created["industry"], created["website"]) == (
        "Acme Labs",
        "Software",
        "https://acme.example.com",
    )
    assert created["created_from_lead"] is None
    assert created["created_by"] == admin.profile_id
    assert created["org"] == admin.org_id
    assert created["created_at"] == created["created_on"]


async def test_optional_fields_default_to_null_and_blank_means_null(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await _create(client, admin, name="Bare", industry="  ", website="")
    assert (created["industry"], created["website"]) == (None, None)


async def test_created_from_lead_is_not_writable(client: httpx.AsyncClient, admin: Member) -> None:
    created = await _create(client, admin, created_from_lead=str(uuid.uuid4()))
    assert created["created_from_lead"] is None


@pytest.mark.parametrize("name", [None, "", "   ", "x" * 101, 7])
async def test_name_is_required_and_at_most_100_characters(
    client: httpx.AsyncClient, admin: Member, name: Any, test_database: Database
) -> None:
    before = await checksum(test_database)
    body = {} if name is None else {"name": name}
    assert _field_error(await _post(client, admin, **body), "name")
    assert await checksum(test_database) == before


async def test_names_are_unique_per_org_case_insensitively(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    first = await _create(client, admin, name="Acme Labs")
    response = await _post(client, admin, name=" ACME labs ")
    assert response.json() == {
        "error": True,
        "errors": {"name": ["Company already exists with this name"]},
        "code": "company_name_taken",
    }
    other = await _create(client, admin, name="Initech")
    response = await client.put(
        _url(other["id"]), json={"name": "acme LABS"}, headers=admin.headers
    )
    assert _field_error(response, "name")
    renamed = await client.patch(
        _url(first["id"]), json={"name": "ACME Labs"}, headers=admin.headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "ACME Labs"
    elsewhere = await factory.admin()
    await _create(client, elsewhere, name="Acme Labs")


async def test_list_envelope_newest_first_and_pagination(
    client: httpx.AsyncClient, admin: Member
) -> None:
    for n in range(5):
        await _create(client, admin, name=f"Company {n}")
    page = await _list(client, admin, limit=2)
    assert set(page) == {"count", "next", "previous", "companies"}
    assert page["count"] == 5
    assert _names(page) == ["Company 4", "Company 3"]
    assert set(page["companies"][0]) == COMPANY_KEYS
    assert page["next"] == "/api/leads/companies/?limit=2&offset=2"
    assert page["previous"] is None
    last = await _list(client, admin, limit=2, offset=4)
    assert _names(last) == ["Company 0"]
    assert (last["next"], last["previous"]) == (None, "/api/leads/companies/?limit=2&offset=2")


async def test_list_without_trailing_slash(client: httpx.AsyncClient, admin: Member) -> None:
    await _create(client, admin, name="Slashless")
    response = await client.get("/api/leads/companies", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert _names(response.json()) == ["Slashless"]


async def test_list_filters(client: httpx.AsyncClient, admin: Member) -> None:
    await _create(client, admin, name="Acme Software", industry="Technology")
    await _create(client, admin, name="Umbrella", industry="Pharmaceuticals")
    await _create(client, admin, name="50% Club")
    assert _names(await _list(client, admin, name="software")) == ["Acme Software"]
    assert _names(await _list(client, admin, name="%")) == ["50% Club"]
    assert _names(await _list(client, admin, industry="PHARMA")) == ["Umbrella"]


async def test_every_member_reads_every_company(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    created = await _create(client, admin, name="Shared")
    assert _names(await _list(client, user)) == ["Shared"]
    response = await client.get(_url(created["id"]), headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.json() == created


async def test_partial_update(client: httpx.AsyncClient, admin: Member) -> None:
    created = await _create(client, admin, name="Acme", industry="Software", website="https://a.io")
    response = await client.patch(
        _url(created["id"]), json={"industry": "Hardware"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["name"], changed["industry"], changed["website"]) == (
        "Acme",
        "Hardware",
        "https://a.io",
    )
    response = await client.put(
        _url(created["id"]),
        json={"website": None, "industry": "", "name": None},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    cleared = response.json()
    assert (cleared["name"], cleared["industry"], cleared["website"]) == ("Acme", None, None)
    fetched = await client.get(_url(created["id"]), headers=admin.headers)
    assert fetched.json() == cleared


async def test_any_member_creates_and_the_creator_changes_and_deletes(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    own = await _create(client, user, name="Mine")
    response = await client.patch(
        _url(own["id"]), json={"industry": "Retail"}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    response = await client.delete(_url(own["id"]), headers=user.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""


async def test_other_members_may_neither_change_nor_delete(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    user = await factory.member_of(admin)
    created = await _create(client, admin, name="Admin's")
    before = await checksum(test_database)
    for method in ("PUT", "PATCH", "DELETE"):
        response = await client.request(
            method,
            _url(created["id"]),
            json={"name": "Taken over"} if method != "DELETE" else None,
            headers=user.headers,
        )
        assert (response.status_code, response.json()) == (403, DENIED), method
    assert await checksum(test_database) == before


async def test_admin_changes_and_deletes_any_company(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    created = await _create(client, user, name="User's")
    response = await client.put(
        _url(created["id"]), json={"name": "Admin's"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    response = await client.delete(_url(created["id"]), headers=admin.headers)
    assert response.status_code == 204, response.text
    gone = await client.get(_url(created["id"]), headers=admin.headers)
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    assert (await _list(client, admin))["count"] == 0


async def test_unknown_or_malformed_ids_are_404(client: httpx.AsyncClient, admin: Member) -> None:
    for company_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = await client.request(
                method,
                _url(company_id),
                json={"name": "x"} if method in ("PUT", "PATCH") else None,
                headers=admin.headers,
            )
            assert (response.status_code, response.json()) == (404, NOT_FOUND), method


async def test_another_org_cannot_reach_a_company(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    created = await _create(client, admin, name="Ours")
    intruder = await factory.admin()
    before = await checksum(test_database)
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.request(
            method,
            _url(created["id"]),
            json={"name": "Stolen"} if method in ("PUT", "PATCH") else None,
            headers=intruder.headers,
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND), method
    assert await checksum(test_database) == before
    assert (await _list(client, intruder))["count"] == 0
    # The name is only taken inside the owner's org.
    assert (await _create(client, intruder, name="Ours"))["name"] == "Ours"
