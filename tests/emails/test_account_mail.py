"""Account e-mail (§4.8): queued as rows, delivered over real SMTP exactly once, scheduled
messages and retries picked up by the sweep, interrupted sends never repeated."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update

from crm.core.clock import utcnow
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.mail import SmtpMailer
from crm.core.queue import RecordingDispatcher
from crm.core.tenancy import bind_tenant, unscoped
from crm.emails.service import DELIVER_JOB, EmailDelivery
from crm.models import Contact, Org, OutboundEmail
from tests.conftest import Factory, Member
from tests.emails.smtp_server import free_port, smtp_server
from tests.shapes import NOT_FOUND


async def _account_with_contact(
    client: httpx.AsyncClient, database: Database, admin: Member
) -> tuple[str, str]:
    async with database.sessionmaker() as session:
        bind_tenant(session, admin.tenant)
        contact = Contact(
            first_name="Ada", last_name="Lovelace", primary_email="ada@client.example"
        )
        session.add(contact)
        await session.commit()
    response = await client.post(
        "/api/accounts/",
        json={"name": "Acme", "contacts": [str(contact.id)]},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], str(contact.id)


def _delivery(database: Database, settings: Settings, port: int, **overrides: Any) -> EmailDelivery:
    configured = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, **overrides}
    )
    return EmailDelivery(database, SmtpMailer(configured), configured)


async def _row(database: Database, email_id: str) -> OutboundEmail:
    async with database.sessionmaker() as session:
        with unscoped(session):
            row = await session.get(OutboundEmail, uuid.UUID(email_id))
            assert row is not None
            return row


async def _set(database: Database, email_id: str, **values: Any) -> None:
    async with database.sessionmaker() as session:
        with unscoped(session):
            await session.execute(
                update(OutboundEmail)
                .where(OutboundEmail.id == uuid.UUID(email_id))
                .values(**values)
            )
        await session.commit()


async def test_mail_is_queued_then_delivered_once_over_smtp(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    settings: Settings,
    dispatcher: RecordingDispatcher,
) -> None:
    admin = await factory.admin()
    account_id, contact_id = await _account_with_contact(client, test_database, admin)
    response = await client.post(
        f"/api/accounts/{account_id}/create_mail/",
        json={
            "recipients": [contact_id, "cfo@client.example"],
            "subject": "Hello {{ name }}",
            "html": "<p>Dear {{ name }} &lt;{{ email }}&gt;</p>",
            "from_account": "sales@vendor.example",
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["message"] == "Email sent successfully"
    assert len(body["email_ids"]) == 2
    assert body["email_id"] == body["email_ids"][0]
    # Handed to the job queue only after the transaction committed, one job per recipient.
    assert dispatcher.enqueued == [(DELIVER_JOB, (i,)) for i in body["email_ids"]]

    with smtp_server() as (inbox, port):
        delivery = _delivery(test_database, settings, port)
        for email_id in body["email_ids"]:
            assert await delivery.deliver(uuid.UUID(email_id)) == "sent"
            assert await delivery.deliver(uuid.UUID(email_id)) is None  # never twice
        assert len(inbox.messages) == 2
    first = inbox.messages[0]
    assert first["To"] == "Ada Lovelace <ada@client.example>"
    assert first["Subject"] == "Hello Ada Lovelace"
    assert first["From"] == "sales@vendor.example"
    html_part = next(p for p in first.walk() if p.get_content_type() == "text/html")
    assert "Dear Ada Lovelace" in html_part.get_payload(decode=True).decode()
    assert inbox.envelopes[1][1] == ["cfo@client.example"]
    row = await _row(test_database, body["email_id"])
    assert (row.status, row.attempts) == ("sent", 1)
    assert row.sent_at is not None

    detail = (await client.get(f"/api/accounts/{account_id}/", headers=admin.headers)).json()
    assert {e["status"] for e in detail["emails"]} == {"sent"}
    assert len(detail["emails"]) == 2


async def test_smtp_down_keeps_the_mail_queued_then_sends_it_exactly_once(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, settings: Settings
) -> None:
    admin = await factory.admin()
    account_id, _ = await _account_with_contact(client, test_database, admin)
    email_id = (
        await client.post(
            f"/api/accounts/{account_id}/create_mail/",
            json={"recipients": ["x@client.example"], "subject": "Hi"},
            headers=admin.headers,
        )
    ).json()["email_id"]
    port = free_port()  # nothing listens here yet
    delivery = _delivery(test_database, settings, port)
    assert await delivery.deliver(uuid.UUID(email_id)) == "queued"
    row = await _row(test_database, email_id)
    assert row.attempts == 1
    assert row.scheduled_at > utcnow()  # backed off
    assert "unavailable" in (row.last_error or "")
    assert await delivery.deliver(uuid.UUID(email_id)) is None  # not due again yet

    await _set(test_database, email_id, scheduled_at=utcnow() - timedelta(seconds=1))
    recorder = RecordingDispatcher()
    with smtp_server(port) as (inbox, _):
        assert await delivery.sweep(recorder) == 1
        assert recorder.enqueued == [(DELIVER_JOB, (email_id,))]
        assert await delivery.deliver(uuid.UUID(email_id)) == "sent"
        assert await delivery.sweep(recorder) == 0
    assert len(inbox.messages) == 1
    assert (await _row(test_database, email_id)).attempts == 2


async def test_refused_recipient_fails_without_retry(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, settings: Settings
) -> None:
    admin = await factory.admin()
    account_id, _ = await _account_with_contact(client, test_database, admin)
    email_id = (
        await client.post(
            f"/api/accounts/{account_id}/create_mail/",
            json={"recipients": ["nobody@client.example"], "subject": "Hi"},
            headers=admin.headers,
        )
    ).json()["email_id"]
    with smtp_server() as (inbox, port):
        inbox.refuse_rcpt = True
        assert (
            await _delivery(test_database, settings, port).deliver(uuid.UUID(email_id)) == "failed"
        )
    row = await _row(test_database, email_id)
    assert row.status == "failed"
    assert "refused" in (row.last_error or "")


async def test_gives_up_after_max_attempts(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, settings: Settings
) -> None:
    admin = await factory.admin()
    account_id, _ = await _account_with_contact(client, test_database, admin)
    email_id = (
        await client.post(
            f"/api/accounts/{account_id}/create_mail/",
            json={"recipients": ["x@client.example"], "subject": "Hi"},
            headers=admin.headers,
        )
    ).json()["email_id"]
    delivery = _delivery(test_database, settings, free_port(), email_max_attempts=2)
    assert await delivery.deliver(uuid.UUID(email_id)) == "queued"
    await _set(test_database, email_id, scheduled_at=utcnow() - timedelta(seconds=1))
    assert await delivery.deliver(uuid.UUID(email_id)) == "failed"


async def test_scheduled_mail_waits_and_survives_a_restart(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    settings: Settings,
    dispatcher: RecordingDispatcher,
) -> None:
    admin = await factory.admin()
    account_id, contact_id = await _account_with_contact(client, test_database, admin)
    later = (datetime.now(UTC) + timedelta(hours=2)).replace(
        tzinfo=None
    )  # naive: read in "timezone"
    response = await client.post(
        f"/api/accounts/{account_id}/create_mail/",
        json={
            "recipients": [contact_id],
            "subject": "Later",
            "scheduled_later": True,
            "scheduled_date_time": later.isoformat(),
            "timezone": "Europe/Paris",
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["message"] == "Email scheduled successfully"
    email_id = response.json()["email_id"]
    assert dispatcher.enqueued == []  # not due: the sweep will dispatch it
    row = await _row(test_database, email_id)
    assert (
        abs((row.scheduled_at - (later.replace(tzinfo=UTC) - timedelta(hours=1))).total_seconds())
        <= 3600
    )  # Paris is UTC+1/+2

    with smtp_server() as (inbox, port):
        delivery = _delivery(test_database, settings, port)
        recorder = RecordingDispatcher()
        assert await delivery.sweep(recorder) == 0
        assert await delivery.deliver(uuid.UUID(email_id)) is None  # not due
        # Time passes; the server restarts: a fresh delivery service sweeps what is due.
        await _set(test_database, email_id, scheduled_at=utcnow() - timedelta(minutes=1))
        restarted = _delivery(test_database, settings, port)
        assert await restarted.sweep(recorder) == 1
        for job, (queued_id,) in recorder.enqueued:
            assert job == DELIVER_JOB
            await restarted.deliver(uuid.UUID(queued_id))
        assert len(inbox.messages) == 1


async def test_interrupted_send_is_failed_not_repeated(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, settings: Settings
) -> None:
    admin = await factory.admin()
    account_id, _ = await _account_with_contact(client, test_database, admin)
    email_id = (
        await client.post(
            f"/api/accounts/{account_id}/create_mail/",
            json={"recipients": ["x@client.example"], "subject": "Hi"},
            headers=admin.headers,
        )
    ).json()["email_id"]
    # A worker claimed it and died before recording the outcome.
    await _set(
        test_database,
        email_id,
        status="sending",
        claimed_at=utcnow() - timedelta(hours=1),
        attempts=1,
    )
    with smtp_server() as (inbox, port):
        assert await _delivery(test_database, settings, port).sweep(RecordingDispatcher()) == 0
    assert inbox.messages == []
    row = await _row(test_database, email_id)
    assert row.status == "failed"
    assert "not retried" in (row.last_error or "")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "x"}, "recipients"),
        ({"recipients": [], "subject": "x"}, "recipients"),
        ({"recipients": ["not an address"], "subject": "x"}, "recipients"),
        ({"recipients": [str(uuid.uuid4())], "subject": "x"}, "contacts"),
        ({"recipients": ["a@b.example"]}, "subject"),
        (
            {"recipients": ["a@b.example"], "subject": "x", "scheduled_later": True},
            "scheduled_date_time",
        ),
        (
            {
                "recipients": ["a@b.example"],
                "subject": "x",
                "scheduled_later": True,
                "scheduled_date_time": "2001-01-01T00:00:00Z",
            },
            "scheduled_date_time",
        ),
        ({"recipients": ["a@b.example"], "subject": "x", "timezone": "Mars/Olympus"}, "timezone"),
        ({"recipients": ["a@b.example"], "subject": "x", "from_email": "nope"}, "from_email"),
    ],
)
async def test_bad_mail_requests_are_400_and_queue_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    dispatcher: RecordingDispatcher,
    body: dict[str, Any],
    field: str,
) -> None:
    admin = await factory.admin()
    account_id, _ = await _account_with_contact(client, test_database, admin)
    response = await client.post(
        f"/api/accounts/{account_id}/create_mail/", json=body, headers=admin.headers
    )
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"], response.json()
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            assert (await session.execute(select(OutboundEmail))).first() is None
    assert dispatcher.enqueued == []


async def test_mail_respects_account_visibility(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin, intruder = await factory.admin(), await factory.admin()
    user = await factory.member_of(admin)
    account_id, _ = await _account_with_contact(client, test_database, admin)
    body = {"recipients": ["a@b.example"], "subject": "x"}
    other_org = await client.post(
        f"/api/accounts/{account_id}/create_mail/", json=body, headers=intruder.headers
    )
    assert (other_org.status_code, other_org.json()) == (404, NOT_FOUND)
    hidden = await client.post(
        f"/api/accounts/{account_id}/create_mail/", json=body, headers=user.headers
    )
    assert hidden.status_code == 403


async def test_racing_deliveries_send_once(settings: Settings) -> None:
    """Four workers deliver the same e-mail at once, on real separately committed connections
    (outside the per-test transaction): exactly one sends."""
    real = Database.from_settings(settings)
    org = Org(name=f"Race{uuid.uuid4().hex[:10]}", api_key=str(uuid.uuid4()))
    try:
        async with real.sessionmaker() as session:
            with unscoped(session):
                session.add(org)
                await session.flush()
                row = OutboundEmail(
                    org_id=org.id,
                    from_email="",
                    recipients=[{"email": "race@client.example", "name": ""}],
                    subject="race",
                    html="<p>x</p>",
                )
                session.add(row)
                await session.commit()
        with smtp_server() as (inbox, port):
            delivery = _delivery(real, settings, port)
            results = await asyncio.gather(*(delivery.deliver(row.id) for _ in range(4)))
        assert sorted(r or "" for r in results) == ["", "", "", "sent"]
        assert len(inbox.messages) == 1
    finally:
        async with real.sessionmaker() as session:
            await session.execute(delete(Org).where(Org.id == org.id))  # cascades to the e-mail
            await session.commit()
        await real.dispose()
