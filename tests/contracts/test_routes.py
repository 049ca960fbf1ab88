"""Isolation and permission tests generated from the app's own routes (STYLE example 11).

For every operation of the OpenAPI document: without credentials it is refused with 401;
an org route without the org header is refused with 403; an admin route refuses a USER; a
route that names a record answers another org's admin exactly as it answers a missing id.
After every refused request, a checksum of every table shows nothing changed; and every
write body those refusals are measured with succeeds for the owner.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from crm.core.db import Base, Database
from crm.core.tenancy import unscoped
from tests.activity.records import activity_record_makers
from tests.conftest import Factory, Member
from tests.contracts.policy import BODIES, POLICY, Access

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
_PARAM = re.compile(r"{(\w+)}")


def _operations(app: Any) -> list[tuple[str, str]]:
    schema = app.openapi()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    )


def test_every_operation_is_classified(app: Any) -> None:
    """A new route must be added to the policy table, which brings it under these tests."""
    operations = set(_operations(app))
    unclassified = operations - POLICY.keys()
    stale = POLICY.keys() - operations
    assert not unclassified, (
        f"classify these routes in tests/contracts/policy.py: {sorted(unclassified)}"
    )
    assert not stale, f"policy lists routes the app no longer has: {sorted(stale)}"


def test_openapi_security_matches_policy(app: Any) -> None:
    """The published security requirements agree with who may actually call."""
    schema = app.openapi()
    for (method, path), access in POLICY.items():
        security = schema["paths"][path][method.lower()].get("security", [])
        schemes = {name for requirement in security for name in requirement}
        if access is Access.PUBLIC:
            assert not schemes, (method, path)
        else:
            assert "HTTPBearer" in schemes, (method, path)
        if access in (Access.MEMBER, Access.SELF_OR_ADMIN, Access.ADMIN):
            assert "organization-id" in schemes, (method, path)


# -- records to aim at ---------------------------------------------------------------------

RecordMaker = Callable[[httpx.AsyncClient, Factory, Member], Awaitable[str]]


async def _team(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/teams/", json={"name": f"T{uuid.uuid4().hex[:8]}"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _api_key(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post("/api/api-keys/", json={"name": "Key"}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _api_setting(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/api-settings/",
        json={"title": "Site", "website": "https://site.example.com"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _account(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/accounts/", json={"name": f"Acct {uuid.uuid4().hex[:8]}"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _contact(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/contacts/",
        json={
            "first_name": "Record",
            "last_name": "Maker",
            "primary_email": f"contact-{uuid.uuid4().hex[:8]}@example.com",
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _profile(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    return (await factory.member_of(admin)).profile_id


async def _opportunity(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/opportunities/",
        json=await _opportunity_body(client, factory, admin),
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _case(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/cases/", json={"name": f"Case {uuid.uuid4().hex[:8]}"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _task(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/tasks/", json={"title": f"Task {uuid.uuid4().hex[:8]}"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _invoice(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/invoices/",
        json={
            "invoice_title": f"Invoice {uuid.uuid4().hex[:8]}",
            "name": "Customer",
            "email": "customer@example.com",
            "line_items": [{"quantity": "1", "rate": "10"}],
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _erp_child(
    client: httpx.AsyncClient, factory: Factory, admin: Member, path: str, body: dict[str, Any]
) -> str:
    parent = await _opportunity(client, factory, admin)
    response = await client.post(
        f"/api/crm/{path}", json={"opportunity_id": parent, **body}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _erp_item(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    return await _erp_child(client, factory, admin, "opportunity-item", {"qty": 1, "rate": 10})


async def _erp_lost_reason(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    body = {"lost_reason": "Price"}
    return await _erp_child(client, factory, admin, "opportunity-lost-reason-detail", body)


async def _event(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/events/",
        json={
            "name": f"Event {uuid.uuid4().hex[:8]}",
            "event_type": "Meeting",
            "start_date": "2026-12-01",
            "start_time": "09:00",
            "end_date": "2026-12-01",
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _document(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/documents/",
        data={"title": f"Doc {uuid.uuid4().hex[:8]}"},
        files={"document_file": ("spec.txt", b"the spec", "text/plain")},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _company(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/leads/companies/", json={"name": f"Co {uuid.uuid4().hex[:8]}"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _lead(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    response = await client.post(
        "/api/leads/",
        json={"first_name": "Record", "last_name": f"Maker {uuid.uuid4().hex[:8]}"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _import_job(client: httpx.AsyncClient, factory: Factory, admin: Member) -> str:
    # Over the default in-request limit (1 MiB), so the import becomes a background job.
    rows = "".join(f"First{n},Last{n},user{n}@example.com\n" for n in range(40_000))
    content = ("first_name,last_name,email\n" + rows).encode()
    response = await client.post(
        "/api/leads/upload/",
        files={"leads_file": ("leads.csv", content, "text/csv")},
        headers=admin.headers,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


# One maker per path parameter. A route with a parameter missing here fails the suite.
RECORD_MAKERS: dict[str, RecordMaker] = {
    "team_id": _team,
    "setting_id": _api_setting,
    "key_id": _api_key,
    "profile_id": _profile,
    "contact_id": _contact,
    "account_id": _account,
    "job_id": _import_job,
    "opportunity_id": _opportunity,
    "company_id": _company,
    "lead_id": _lead,
    "case_id": _case,
    "task_id": _task,
    "event_id": _event,
    "invoice_id": _invoice,
    "document_id": _document,
}

# (module, parameter) -> maker, for a parameter whose record depends on the module of the
# path: a comment id on /api/leads/... must name a lead's comment. Consulted first.
MODULE_RECORD_MAKERS: dict[tuple[str, str], RecordMaker] = {
    **activity_record_makers(RECORD_MAKERS),
    ("crm", "item_id"): _erp_item,
    ("crm", "row_id"): _erp_lost_reason,
}


def _maker(path: str, param: str) -> RecordMaker | None:
    module = path.removeprefix("/api/").split("/", 1)[0]
    return MODULE_RECORD_MAKERS.get((module, param)) or RECORD_MAKERS.get(param)


# -- bodies that name records ----------------------------------------------------------------

BodyMaker = Callable[[httpx.AsyncClient, Factory, Member], Awaitable[dict[str, Any]]]


async def _opportunity_body(
    client: httpx.AsyncClient, factory: Factory, owner: Member
) -> dict[str, Any]:
    account = await _account(client, factory, owner)
    return {"name": f"Deal {uuid.uuid4().hex[:8]}", "account": account, "amount": "100.00"}


async def _erp_item_body(
    client: httpx.AsyncClient, factory: Factory, owner: Member
) -> dict[str, Any]:
    return {"opportunity_id": await _opportunity(client, factory, owner), "qty": 2, "rate": 5}


async def _erp_lost_reason_body(
    client: httpx.AsyncClient, factory: Factory, owner: Member
) -> dict[str, Any]:
    return {"opportunity_id": await _opportunity(client, factory, owner), "lost_reason": "Price"}


async def _erp_reorder_body(
    client: httpx.AsyncClient, factory: Factory, owner: Member, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    parent = await _opportunity(client, factory, owner)
    ids = []
    for _ in range(2):
        response = await client.post(
            f"/api/crm/{path}", json={"opportunity_id": parent, **body}, headers=owner.headers
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return {"parent_id": parent, "ids": ids[::-1]}


async def _erp_item_reorder_body(
    client: httpx.AsyncClient, factory: Factory, owner: Member
) -> dict[str, Any]:
    return await _erp_reorder_body(client, factory, owner, "opportunity-item", {"rate": 1})


async def _erp_lost_reason_reorder_body(
    client: httpx.AsyncClient, factory: Factory, owner: Member
) -> dict[str, Any]:
    body = {"lost_reason": "Price"}
    return await _erp_reorder_body(client, factory, owner, "opportunity-lost-reason-detail", body)


# For operations whose succeeding body must name records of the owner's org (made before the
# table checksum is taken). An operation is listed here or in BODIES, not both.
BODY_MAKERS: dict[tuple[str, str], BodyMaker] = {
    ("POST", "/api/opportunities/"): _opportunity_body,
    ("POST", "/api/crm/opportunity-item"): _erp_item_body,
    ("POST", "/api/crm/opportunity-lost-reason-detail"): _erp_lost_reason_body,
    ("POST", "/api/crm/opportunity-item/reorder"): _erp_item_reorder_body,
    ("POST", "/api/crm/opportunity-lost-reason-detail/reorder"): _erp_lost_reason_reorder_body,
}


async def _body(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory, owner: Member
) -> dict[str, Any] | None:
    maker = BODY_MAKERS.get(key)
    return await maker(client, factory, owner) if maker is not None else BODIES.get(key)


def test_body_makers_name_classified_operations() -> None:
    assert BODY_MAKERS.keys() <= POLICY.keys()
    assert not BODY_MAKERS.keys() & BODIES.keys()


def test_every_path_parameter_has_a_record_maker(app: Any) -> None:
    missing = {
        param
        for _, path in _operations(app)
        for param in _PARAM.findall(path)
        if _maker(path, param) is None
    }
    assert not missing, f"add record makers for {sorted(missing)} in {__name__}"


async def _fill(path: str, client: httpx.AsyncClient, factory: Factory, owner: Member) -> str:
    for param in _PARAM.findall(path):
        maker = _maker(path, param)
        assert maker is not None, param
        record_id = await maker(client, factory, owner)
        path = path.replace("{" + param + "}", record_id)
    return path


def _random_ids(path: str) -> str:
    return _PARAM.sub(lambda _: str(uuid.uuid4()), path)


# The audit log is meant to change on a refusal: a 403 answered to a known caller is a
# ``permission_denied`` event (tests/audit checks it is written). Every other table must not.
CHANGED_BY_REFUSALS = frozenset({"security_events"})


async def checksum(database: Database) -> str:
    """A digest of every row of every table but the audit log, as seen by the test's
    transaction."""
    digest = hashlib.sha256()
    async with database.sessionmaker() as session:
        with unscoped(session):
            for table in Base.metadata.sorted_tables:
                if table.name in CHANGED_BY_REFUSALS:
                    continue
                order = list(table.primary_key.columns) or list(table.columns)
                rows = (await session.execute(select(table).order_by(*order))).all()
                digest.update(table.name.encode())
                digest.update(repr([tuple(row) for row in rows]).encode())
    return digest.hexdigest()


async def _call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> httpx.Response:
    return await client.request(method, url, json=body, headers=headers)


def _ops(*levels: Access, with_params: bool | None = None) -> list[tuple[str, str]]:
    selected = []
    for key, access in sorted(POLICY.items()):
        if access not in levels:
            continue
        has_params = bool(_PARAM.search(key[1]))
        if with_params is None or with_params == has_params:
            selected.append(key)
    return selected


def _ids(keys: list[tuple[str, str]]) -> list[str]:
    return [f"{m} {p}" for m, p in keys]


def _is_refusal(path: str, body: dict[str, Any]) -> bool:
    """A 403 body: the §9 error object under /api/crm/, else §1.6's."""
    if path.startswith("/api/crm/"):
        return bool(body["error"]["type"] == "permission_error")
    return body["error"] is True


PROTECTED = _ops(Access.USER, Access.MEMBER, Access.SELF_OR_ADMIN, Access.ADMIN)
ORG_SCOPED = _ops(Access.MEMBER, Access.SELF_OR_ADMIN, Access.ADMIN)
ADMIN_ONLY = _ops(Access.ADMIN)
RECORD_ROUTES = _ops(Access.MEMBER, Access.SELF_OR_ADMIN, Access.ADMIN, with_params=True)


@pytest.mark.parametrize("key", PROTECTED, ids=_ids(PROTECTED))
async def test_refused_without_credentials(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    method, path = key
    owner = await factory.admin()
    url = await _fill(path, client, factory, owner)
    body = await _body(key, client, factory, owner)
    before = await checksum(test_database)
    response = await _call(client, method, url, body, {"organization-id": owner.org_id})
    assert response.status_code == 401, response.text
    if path.startswith("/api/crm/"):
        assert response.json()["error"]["type"] == "authentication_error"
    else:
        assert "detail" in response.json()
    assert await checksum(test_database) == before


@pytest.mark.parametrize("key", ORG_SCOPED, ids=_ids(ORG_SCOPED))
async def test_refused_without_org_header(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    method, path = key
    owner = await factory.admin()
    url = await _fill(path, client, factory, owner)
    body = await _body(key, client, factory, owner)
    before = await checksum(test_database)
    response = await _call(client, method, url, body, owner.bearer)
    assert response.status_code == 403, response.text
    assert _is_refusal(path, response.json())
    assert await checksum(test_database) == before


@pytest.mark.parametrize("key", ADMIN_ONLY, ids=_ids(ADMIN_ONLY))
async def test_admin_routes_refuse_users(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    method, path = key
    owner = await factory.admin()
    user = await factory.member_of(owner, role="USER")
    url = await _fill(path, client, factory, owner)
    body = await _body(key, client, factory, owner)
    before = await checksum(test_database)
    response = await _call(client, method, url, body, user.headers)
    assert response.status_code == 403, response.text
    assert _is_refusal(path, response.json())
    assert await checksum(test_database) == before


@pytest.mark.parametrize("key", _ops(Access.SELF_OR_ADMIN), ids=_ids(_ops(Access.SELF_OR_ADMIN)))
async def test_self_routes_refuse_other_users(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    method, path = key
    owner = await factory.admin()
    user = await factory.member_of(owner, role="USER")
    url = await _fill(path, client, factory, owner)  # names another member, not `user`
    body = await _body(key, client, factory, owner)
    before = await checksum(test_database)
    response = await _call(client, method, url, body, user.headers)
    assert response.status_code == 403, response.text
    assert await checksum(test_database) == before


@pytest.mark.parametrize("key", RECORD_ROUTES, ids=_ids(RECORD_ROUTES))
async def test_other_org_record_answers_like_a_missing_one(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    method, path = key
    owner = await factory.admin()
    intruder = await factory.admin()
    url = await _fill(path, client, factory, owner)
    body = await _body(key, client, factory, owner)
    missing = await _call(client, method, _random_ids(path), body, intruder.headers)
    before = await checksum(test_database)
    response = await _call(client, method, url, body, intruder.headers)
    assert response.status_code == 404, response.text
    assert (response.status_code, response.json()) == (missing.status_code, missing.json())
    assert await checksum(test_database) == before


WRITES_WITH_BODIES = [
    key
    for key in PROTECTED
    if key[0] in ("POST", "PUT", "PATCH") and (key in BODIES or key in BODY_MAKERS)
]


@pytest.mark.parametrize("key", WRITES_WITH_BODIES, ids=_ids(WRITES_WITH_BODIES))
async def test_policy_bodies_succeed_for_the_owner(
    key: tuple[str, str], client: httpx.AsyncClient, factory: Factory
) -> None:
    """The bodies above are what the refusals are measured against: they must be valid."""
    method, path = key
    owner = await factory.admin()
    url = await _fill(path, client, factory, owner)
    body = await _body(key, client, factory, owner)
    response = await _call(client, method, url, body, owner.headers)
    assert response.status_code in (200, 201), response.text
