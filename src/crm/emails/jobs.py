"""Jobs of the e-mail domain. They take an id, re-read the row, and are safe to run twice."""

from __future__ import annotations

import uuid

from crm.core.queue import job, runtime
from crm.emails.service import DELIVER_JOB, EmailDelivery


@job(DELIVER_JOB)
async def deliver_email(email_id: str) -> None:
    delivery: EmailDelivery = runtime.get("email_delivery")
    await delivery.deliver(uuid.UUID(email_id))
