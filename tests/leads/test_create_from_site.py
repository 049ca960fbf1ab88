"""Website lead capture (§6.8): POST /api/leads/create-from-site/ with an API-settings key
in the query or the body, no token; assignees and tags from the key; throttled per key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm.core.db import Database
from crm.leads.service import SITE_CAPTURE_WINDOW_SECONDS
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.leads.kit import ITEM_KEYS

URL = "/api/leads/create-from-site/"
VISITOR = {
    "first_name": "John",
    "last_name": "Prospect",
    "email": "john@prospect.com",
    "phone": "+1234567890",
    "account_name": "Prospect Company",
    "message": "Please call me",
}
NO_PERMISSION = {
    "error": True,
    "errors": "You don't have permission, please contact the admin!.",
    "code": "invalid_apikey",
}


async def _setting(client: httpx.AsyncClient, admin: Member, **body: Any) -> dict[str, Any]:
    body = {"title": "Site", "website": "https://shop.example.com", **body}
    response = await client.post("/api/api-settings/", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_key_in_the_query(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    sales = await factory.member_of(admin)
    setting = await _setting(
        client, admin, lead_assigned_to=[sales.profile_id], tags=["Web", "inbound"]
    )
    response = await client.post(URL, params={"apikey": setting["apikey"]}, json=VISITOR)
    assert response.status_code == 201, response.text
    lead = response.json()
    assert set(lead) == ITEM_KEYS
    assert (lead["first_name"], lead["last_name"], lead["email"]) == (
        "John",
        "Prospect",
        "john@prospect.com",
    )
    assert (lead["title"], lead["description"], lead["account_name"]) == (
        "John Prospect",
        "Please call me",
        "Prospect Company",
    )
    assert (lead["status"], lead["source"], lead["created_from_site"]) == (
        "assigned",
        "https://shop.example.com",
        True,
    )
    assert lead["assigned_to"] == [sales.profile_id]
    assert lead["tags"] == ["inbound", "Web"]
    assert (lead["org"], lead["created_by"]) == (admin.org_id, admin.profile_id)
    # It is an ordinary lead of the org from then on.
    listed = (await client.get("/api/leads/", headers=sales.headers)).json()
    assert [item["id"] for item in listed["open_leads"]] == [lead["id"]]


async def test_key_in_the_body_with_title_and_source(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    setting = await _setting(client, admin)
    response = await client.post(
        URL,
        json={
            **VISITOR,
            "apikey": setting["apikey"],
            "title": "Interested in a demo",
            "source": "Website Form",
        },
    )
    assert response.status_code == 201, response.text
    lead = response.json()
    assert (lead["title"], lead["source"]) == ("Interested in a demo", "Website Form")
    # No assignees on the key: the lead goes to the key's creator.
    assert lead["assigned_to"] == [admin.profile_id]
    assert lead["tags"] == []


async def test_acts_as_the_first_admin_when_the_keys_creator_has_left(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    second = await factory.member_of(admin, role="ADMIN")
    setting = await _setting(client, second)
    gone = await client.post(
        f"/api/user/{second.profile_id}/status/", json={"status": "Inactive"}, headers=admin.headers
    )
    assert gone.status_code == 200, gone.text
    response = await client.post(URL, params={"apikey": setting["apikey"]}, json=VISITOR)
    assert response.status_code == 201, response.text
    assert response.json()["created_by"] == admin.profile_id
    assert response.json()["assigned_to"] == [admin.profile_id]


@pytest.mark.parametrize("key", [None, "", "0123456789abcdef", "x" * 64])
async def test_unknown_or_missing_key_is_refused(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, key: str | None
) -> None:
    admin = await factory.admin()
    await _setting(client, admin)
    before = await checksum(test_database)
    params = {"apikey": key} if key is not None else {}
    for response in (
        await client.post(URL, params=params, json=VISITOR),
        await client.post(URL, json={**VISITOR, "apikey": key}),
    ):
        assert (response.status_code, response.json()) == (403, NO_PERMISSION)
    assert await checksum(test_database) == before


async def test_another_orgs_credentials_are_not_a_key(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    before = await checksum(test_database)
    response = await client.post(URL, json=VISITOR, headers=admin.headers)
    assert (response.status_code, response.json()) == (403, NO_PERMISSION)
    assert await checksum(test_database) == before


@pytest.mark.parametrize(
    ("missing", "field"),
    [("email", "email"), ("first_name", "first_name"), ("last_name", "last_name")],
)
async def test_required_fields(
    client: httpx.AsyncClient, factory: Factory, missing: str, field: str
) -> None:
    admin = await factory.admin()
    setting = await _setting(client, admin)
    body = {k: v for k, v in VISITOR.items() if k != missing}
    response = await client.post(URL, params={"apikey": setting["apikey"]}, json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"]


async def test_throttled_per_key(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, app: Any
) -> None:
    admin = await factory.admin()
    busy, quiet = await _setting(client, admin), await _setting(client, admin, title="Quiet")
    # Use up the busy key's window (CRM_LEAD_CAPTURE_PER_MINUTE) without making that many leads.
    for _ in range(app.state.settings.lead_capture_per_minute - 1):
        await app.state.counter.hit(f"lead-capture:{busy['id']}", SITE_CAPTURE_WINDOW_SECONDS)
    last = await client.post(URL, params={"apikey": busy["apikey"]}, json=VISITOR)
    assert last.status_code == 201, last.text
    before = await checksum(test_database)
    refused = await client.post(URL, params={"apikey": busy["apikey"]}, json=VISITOR)
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= SITE_CAPTURE_WINDOW_SECONDS
    assert await checksum(test_database) == before
    other = await client.post(URL, params={"apikey": quiet["apikey"]}, json=VISITOR)
    assert other.status_code == 201, other.text
