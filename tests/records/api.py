"""HTTP helpers for the tests of record modules built on the kit (cases, tasks, events):
the same calls against /api/<module>/, and the records they link to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import Member


@dataclass(frozen=True)
class RecordApi:
    path: str  # "/api/cases/"
    name_field: str  # "name" or "title"
    label: str  # the prefix of generated names: "Case"

    async def post(self, client: httpx.AsyncClient, member: Member, **body: Any) -> httpx.Response:
        return await client.post(self.path, json=body, headers=member.headers)

    async def create(
        self, client: httpx.AsyncClient, member: Member, **body: Any
    ) -> dict[str, Any]:
        body.setdefault(self.name_field, f"{self.label} {uuid.uuid4().hex[:8]}")
        response = await self.post(client, member, **body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def change(
        self,
        client: httpx.AsyncClient,
        member: Member,
        record_id: str,
        method: str = "PATCH",
        **body: Any,
    ) -> httpx.Response:
        url = f"{self.path}{record_id}/"
        return await client.request(method, url, json=body, headers=member.headers)

    async def changed(
        self,
        client: httpx.AsyncClient,
        member: Member,
        record_id: str,
        method: str = "PATCH",
        **body: Any,
    ) -> dict[str, Any]:
        response = await self.change(client, member, record_id, method, **body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def detail(
        self, client: httpx.AsyncClient, member: Member, record_id: str
    ) -> dict[str, Any]:
        response = await client.get(f"{self.path}{record_id}/", headers=member.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def list(
        self, client: httpx.AsyncClient, member: Member, **params: Any
    ) -> dict[str, Any]:
        response = await client.get(self.path, params=params, headers=member.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def names(self, page: dict[str, Any]) -> list[str]:
        return [item[self.name_field] for item in page["results"]]


def field_error(response: httpx.Response, field: str) -> list[str]:
    """The messages of a 400 on ``field``, in the documented error shape."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] is True
    assert field in body["errors"], body
    return list(body["errors"][field])


async def new_account(
    client: httpx.AsyncClient, member: Member, name: str | None = None, **body: Any
) -> str:
    body["name"] = name or f"Account {uuid.uuid4().hex[:8]}"
    response = await client.post("/api/accounts/", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_contact(
    client: httpx.AsyncClient, member: Member, first_name: str = "Ada", last_name: str = "Lovelace"
) -> str:
    body = {
        "first_name": first_name,
        "last_name": last_name,
        "primary_email": f"{uuid.uuid4().hex[:10]}@example.com",
    }
    response = await client.post("/api/contacts/", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_team(client: httpx.AsyncClient, admin: Member, name: str) -> str:
    response = await client.post("/api/teams/", json={"name": name}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
