"""Queueing e-mails (tenant side) and delivering them (system side).

Each message is one row per recipient, so personalisation works and "sent exactly once"
holds per person. Delivery claims a row with a conditional UPDATE, sends outside any
transaction, then records the outcome: sent; queued again with back-off when the server
is unavailable; failed when it refuses or after ``CRM_EMAIL_MAX_ATTEMPTS``. A claim that
outlives its lease (the process died mid-send) is failed, not resent.
"""

from __future__ import annotations

import html as html_lib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr

from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.clock import utcnow
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.mail import Mailer, MailError
from crm.core.queue import Dispatcher, enqueue_after_commit
from crm.core.tenancy import TenantContext
from crm.emails.repository import DeliveryRepository, OutboxRepository
from crm.models import OutboundEmail

DELIVER_JOB = "emails.deliver"
_PLACEHOLDER = re.compile(r"{{\s*(name|email)\s*}}")


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    name: str = ""
    contact_id: uuid.UUID | None = None


def render(template: str, recipient: Recipient, *, escape: bool) -> str:
    """Fill Django-CRM's per-recipient placeholders ``{{ name }}`` and ``{{ email }}``."""

    def value(match: re.Match[str]) -> str:
        text = recipient.name if match.group(1) == "name" else recipient.email
        return html_lib.escape(text) if escape else text

    return _PLACEHOLDER.sub(value, template)


class EmailOutbox:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.emails = OutboxRepository(session)

    async def queue(
        self,
        *,
        recipients: list[Recipient],
        subject: str,
        html: str,
        kind: str = "account",
        account_id: uuid.UUID | None = None,
        from_email: str = "",
        scheduled_at: datetime | None = None,
        timezone: str = "UTC",
    ) -> list[OutboundEmail]:
        when = scheduled_at or utcnow()
        rows = [
            OutboundEmail(
                org_id=self.tenant.org_id,
                created_by_id=self.tenant.profile_id,
                kind=kind,
                account_id=account_id,
                from_email=from_email,
                recipients=[
                    {
                        "email": r.email,
                        "name": r.name,
                        "contact_id": str(r.contact_id) if r.contact_id else None,
                    }
                ],
                subject=render(subject, r, escape=False),
                html=render(html, r, escape=True),
                scheduled_at=when,
                timezone=timezone,
            )
            for r in recipients
        ]
        for row in rows:
            self.emails.add(row)
        await self.session.flush()
        if when <= utcnow():
            for row in rows:
                enqueue_after_commit(self.session, DELIVER_JOB, str(row.id))
        return rows

    async def for_account(self, account_id: uuid.UUID) -> list[OutboundEmail]:
        return await self.emails.for_account(account_id)


def _plain(html: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", "", html)).strip() or " "


class EmailDelivery:
    def __init__(self, database: Database, mailer: Mailer, settings: Settings) -> None:
        self.database = database
        self.mailer = mailer
        self.settings = settings

    def message(self, email: OutboundEmail) -> EmailMessage:
        recipient = email.recipients[0]
        message = EmailMessage()
        message["From"] = email.from_email or self.settings.mail_from
        if email.from_email and email.from_email != self.settings.mail_from:
            message["Sender"] = self.settings.mail_from
        message["To"] = formataddr((recipient.get("name") or "", recipient["email"]))
        message["Subject"] = email.subject
        message["Message-ID"] = email.message_id
        message.set_content(_plain(email.html))
        message.add_alternative(email.html or " ", subtype="html")
        return message

    async def deliver(self, email_id: uuid.UUID) -> str | None:
        """Send one e-mail if it is due and nobody else has it; returns the new status."""
        async with self.database.sessionmaker() as session:
            email = await DeliveryRepository(session).claim(email_id, utcnow())
            await session.commit()
        if email is None:
            return None
        values: dict[str, object]
        try:
            await self.mailer.send(self.message(email))
            values = {"status": "sent", "sent_at": utcnow(), "last_error": None}
        except MailError as exc:
            if exc.retry and email.attempts < self.settings.email_max_attempts:
                first = self.settings.email_retry_seconds
                backoff = min(first * 2 ** (email.attempts - 1), 3600)
                values = {
                    "status": "queued",
                    "scheduled_at": utcnow() + timedelta(seconds=backoff),
                    "last_error": str(exc),
                }
            else:
                values = {"status": "failed", "last_error": str(exc)}
        async with self.database.sessionmaker() as session:
            await DeliveryRepository(session).finish(email_id, **values)
            await session.commit()
        return str(values["status"])

    async def sweep(self, dispatcher: Dispatcher, limit: int = 500) -> int:
        """Fail interrupted claims, then hand every due e-mail to the dispatcher."""
        lease = timedelta(seconds=self.settings.email_claim_lease_seconds)
        async with self.database.sessionmaker() as session:
            repository = DeliveryRepository(session)
            await repository.fail_stale_claims(utcnow() - lease)
            due = await repository.due_ids(utcnow(), limit)
            await session.commit()
        for email_id in due:
            await dispatcher.enqueue(DELIVER_JOB, str(email_id))
        return len(due)
