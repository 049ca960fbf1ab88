"""Assignment notifications: newly assigned members get one e-mail each, after commit."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from crm.core.db import Database
from crm.core.queue import RecordingDispatcher
from crm.core.tenancy import unscoped
from crm.emails.service import DELIVER_JOB
from crm.models import OutboundEmail
from tests.conftest import Factory


async def _notifications(database: Database) -> list[OutboundEmail]:
    async with database.sessionmaker() as session:
        with unscoped(session):
            statement = (
                select(OutboundEmail)
                .where(OutboundEmail.kind == "notification")
                .order_by(OutboundEmail.created_on)
            )
            return list((await session.execute(statement)).scalars())


async def test_new_assignees_are_told_once_and_the_actor_is_not(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    dispatcher: RecordingDispatcher,
) -> None:
    admin = await factory.admin()
    alice, bob = await factory.member_of(admin), await factory.member_of(admin)
    created = await client.post(
        "/api/accounts/",
        json={"name": "Acme", "assigned_to": [alice.profile_id, admin.profile_id]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    sent = await _notifications(test_database)
    assert [n.recipients[0]["email"] for n in sent] == [alice.email]  # not the admin who assigned
    assert sent[0].subject == "You have been assigned to the account Acme"
    assert created.json()["id"] in sent[0].html
    assert dispatcher.enqueued == [(DELIVER_JOB, (str(sent[0].id),))]

    account_id = created.json()["id"]
    await client.patch(
        f"/api/accounts/{account_id}/",
        json={"assigned_to": [alice.profile_id, bob.profile_id]},
        headers=admin.headers,
    )
    assert [n.recipients[0]["email"] for n in await _notifications(test_database)] == [
        alice.email,
        bob.email,
    ]
    await client.patch(f"/api/accounts/{account_id}/", json={"phone": "+1"}, headers=admin.headers)
    assert len(await _notifications(test_database)) == 2  # no assignee change, no mail


async def test_refused_write_queues_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    dispatcher: RecordingDispatcher,
) -> None:
    admin = await factory.admin()
    alice = await factory.member_of(admin)
    response = await client.post(
        "/api/accounts/",
        json={"name": "Acme", "assigned_to": [alice.profile_id, str(uuid.uuid4())]},
        headers=admin.headers,
    )
    assert response.status_code == 400
    assert await _notifications(test_database) == []
    assert dispatcher.enqueued == []


async def test_every_record_type_notifies_its_new_assignees(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    alice = await factory.member_of(admin)
    account = await client.post("/api/accounts/", json={"name": "Parent"}, headers=admin.headers)
    bodies = {
        "contacts": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "primary_email": "ada@example.com",
            "title": "Head of Engineering",  # a job title, not what the e-mail calls her
        },
        "leads": {"first_name": "Alan", "last_name": "Turing", "title": "Website enquiry"},
        "opportunities": {"name": "Deal", "account": account.json()["id"]},
    }
    for module, body in bodies.items():
        response = await client.post(
            f"/api/{module}/",
            json={**body, "assigned_to": [alice.profile_id]},
            headers=admin.headers,
        )
        assert response.status_code == 201, (module, response.text)
    subjects = sorted(n.subject for n in await _notifications(test_database))
    assert subjects == [
        "You have been assigned to the contact Ada Lovelace",
        "You have been assigned to the lead Alan Turing (Website enquiry)",
        "You have been assigned to the opportunity Deal",
    ]
