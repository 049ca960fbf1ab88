"""Sending e-mail over SMTP. Delivery state lives in the database (see crm.emails); this
module only talks to the server and says whether a failure is worth retrying."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Protocol

import anyio.to_thread

from crm.core.config import Settings


class MailError(Exception):
    """Sending failed. ``retry`` says whether trying again later can succeed."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.timeout = 15.0

    async def send(self, message: EmailMessage) -> None:
        if not self.host:
            raise MailError("SMTP is not configured (CRM_SMTP_HOST)", retry=True)
        await anyio.to_thread.run_sync(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"SMTP unavailable: {exc}", retry=True) from exc
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)  # returns once the server has accepted the message
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError(
                f"every recipient was refused: {list(exc.recipients)}", retry=False
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # 4xx: the server asks us to come back; 5xx: it will not take this message.
            raise MailError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retry=exc.smtp_code < 500
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"SMTP unavailable: {exc}", retry=True) from exc
        finally:
            # Accepted is accepted: a connection lost while saying goodbye must not turn a
            # delivered message into a retry (and a duplicate).
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
