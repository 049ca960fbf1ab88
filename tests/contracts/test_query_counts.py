"""List endpoints issue the same number of SQL statements whatever the page size."""

from __future__ import annotations

import httpx
import pytest

from crm.core.db import Database
from tests.activity.records import make_record
from tests.conftest import Factory, Member
from tests.opportunities.rows import insert_account, insert_contact
from tests.sql_count import count_statements


async def _statements(
    client: httpx.AsyncClient, database: Database, url: str, headers: dict[str, str]
) -> int:
    with count_statements(database.engine) as counter:
        response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return counter.count


@pytest.mark.parametrize(
    "path", ["/api/users/", "/api/teams/", "/api/api-settings/", "/api/users/get-teams-and-users/"]
)
async def test_list_statement_count_is_constant(
    path: str, client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    members = [await factory.member_of(admin) for _ in range(6)]
    ids = [m.profile_id for m in members]
    for n in range(7):
        team = await client.post(
            "/api/teams/",
            json={"name": f"Team {n}", "users": ids[: n % 4 + 1]},
            headers=admin.headers,
        )
        assert team.status_code == 201, team.text
        setting = await client.post(
            "/api/api-settings/",
            json={
                "title": f"Site {n}",
                "website": f"https://s{n}.example.com",
                "tags": [f"t{n}", "web"],
                "lead_assigned_to": ids[:2],
            },
            headers=admin.headers,
        )
        assert setting.status_code == 201, setting.text
    small = await _statements(client, test_database, f"{path}?limit=2", admin.headers)
    large = await _statements(client, test_database, f"{path}?limit=100", admin.headers)
    assert small == large


async def test_opportunity_list_statement_count_is_constant(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    """Links, contacts, account names, the forecast and the lookups: none grows with the page."""
    admin = await factory.admin()
    user = await factory.member_of(admin)
    others = [await factory.member_of(admin) for _ in range(3)]
    team = await client.post("/api/teams/", json={"name": "Sales"}, headers=admin.headers)
    assert team.status_code == 201, team.text
    accounts = [await insert_account(test_database, admin, f"Account {n}") for n in range(3)]
    contacts = [await insert_contact(test_database, admin, f"C{n}", "Contact") for n in range(3)]
    for n in range(7):
        created = await client.post(
            "/api/opportunities/",
            json={
                "name": f"Deal {n}",
                "account": accounts[n % 3],
                "amount": f"{n}00.00",
                "currency": ("USD", "EUR")[n % 2],
                "assigned_to": [user.profile_id, others[n % 3].profile_id],
                "teams": [team.json()["id"]],
                "tags": [f"t{n}", "deal"],
                "contacts": contacts[: n % 3 + 1],
            },
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
    for caller in (admin, user):
        small = await _statements(
            client, test_database, "/api/opportunities/?limit=2", caller.headers
        )
        large = await _statements(
            client, test_database, "/api/opportunities/?limit=100", caller.headers
        )
        assert small == large


@pytest.mark.parametrize(
    ("path", "name_field"), [("/api/cases/", "name"), ("/api/tasks/", "title")]
)
async def test_record_list_statement_count_is_constant(
    path: str,
    name_field: str,
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
) -> None:
    """Links, contacts and the lookups of cases and tasks: none grows with the page."""
    admin = await factory.admin()
    user = await factory.member_of(admin)
    team = await client.post("/api/teams/", json={"name": "Support"}, headers=admin.headers)
    assert team.status_code == 201, team.text
    accounts = [await insert_account(test_database, admin, f"Account {n}") for n in range(3)]
    contacts = [await insert_contact(test_database, admin, f"C{n}", "Contact") for n in range(3)]
    for n in range(7):
        created = await client.post(
            path,
            json={
                name_field: f"Record {n}",
                "account": accounts[n % 3],
                "assigned_to": [user.profile_id],
                "teams": [team.json()["id"]],
                "tags": [f"t{n}", "case"],
                "contacts": contacts[: n % 3 + 1],
            },
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
    for caller in (admin, user):
        small = await _statements(client, test_database, f"{path}?limit=2", caller.headers)
        large = await _statements(client, test_database, f"{path}?limit=100", caller.headers)
        assert small == large


async def test_invoice_list_statement_count_is_constant(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    """Accounts (many per invoice), assignees, teams, tags and the lookups: none grows with
    the page; line items are not in list items."""
    admin = await factory.admin()
    user = await factory.member_of(admin)
    team = await client.post("/api/teams/", json={"name": "Billing"}, headers=admin.headers)
    assert team.status_code == 201, team.text
    accounts = [await insert_account(test_database, admin, f"Account {n}") for n in range(3)]
    for n in range(7):
        created = await client.post(
            "/api/invoices/",
            json={
                "invoice_title": f"Invoice {n}",
                "name": f"Customer {n}",
                "email": f"c{n}@example.com",
                "accounts": accounts[: n % 3 + 1],
                "assigned_to": [user.profile_id],
                "teams": [team.json()["id"]],
                "tags": [f"t{n}", "invoice"],
                "line_items": [{"quantity": "1", "rate": "10"}] * (n + 1),
            },
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
    for caller in (admin, user):
        path = "/api/invoices/"
        small = await _statements(client, test_database, f"{path}?limit=2", caller.headers)
        large = await _statements(client, test_database, f"{path}?limit=100", caller.headers)
        assert small == large


async def test_company_list_statement_count_is_constant(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    for n in range(7):
        created = await client.post(
            "/api/leads/companies/", json={"name": f"Company {n}"}, headers=admin.headers
        )
        assert created.status_code == 201, created.text
    small = await _statements(client, test_database, "/api/leads/companies/?limit=2", admin.headers)
    large = await _statements(
        client, test_database, "/api/leads/companies/?limit=100", admin.headers
    )
    assert small == large


async def test_audit_log_statement_count_is_constant(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    members = [await factory.member_of(admin) for _ in range(3)]
    for n in range(7):
        member = members[n % 3]
        password = member.password if n % 2 else "wrong password"
        login = await client.post(
            "/api/auth/login/", json={"email": member.email, "password": password}
        )
        assert login.status_code in (200, 400), login.text
        denied = await client.get("/api/audit-log/", headers=member.headers)
        assert denied.status_code == 403, denied.text
    small = await _statements(client, test_database, "/api/audit-log/?limit=2", admin.headers)
    large = await _statements(client, test_database, "/api/audit-log/?limit=100", admin.headers)
    assert small == large
    page = await client.get("/api/audit-log/?limit=100", headers=admin.headers)
    assert page.json()["count"] == 14


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/leads/export/", "lead"),
        ("/api/accounts/export/", "account"),
        ("/api/contacts/export/", "contact"),
        ("/api/opportunities/export/", "opportunity"),
    ],
)
async def test_export_statement_count_is_constant(
    path: str, kind: str, client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    """5 records or 50, assigned to the user: the same statements (a count, then the records
    and their links per chunk of 1000), for an admin and for a user."""
    admin = await factory.admin()
    user = await factory.member_of(admin)

    async def statements(caller: Member, export_format: str) -> int:
        return await _statements(
            client, test_database, f"{path}?format={export_format}", caller.headers
        )

    made: list[str] = []
    counts: list[tuple[int, ...]] = []
    for total in (5, 50):
        while len(made) < total:
            made.append(await make_record(test_database, admin, kind, assigned_to=[user]))
        counts.append(
            tuple([await statements(c, f) for c in (admin, user) for f in ("csv", "xlsx")])
        )
    assert counts[0] == counts[1]


async def test_search_statement_count_is_constant(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    """One statement for every type and tier, whatever the limit and the number of hits
    (tests/search/test_search.py checks it for a USER too)."""
    admin = await factory.admin()
    for n in range(12):
        response = await client.post(
            "/api/accounts/", json={"name": f"Searchable {n}"}, headers=admin.headers
        )
        assert response.status_code == 201, response.text
    small = await _statements(client, test_database, "/api/search/?q=search&limit=2", admin.headers)
    large = await _statements(
        client, test_database, "/api/search/?q=search&limit=100", admin.headers
    )
    assert small == large
