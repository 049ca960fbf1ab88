"""The job worker (composition root) for the Redis broker: ``crm worker``.

With the default in-memory broker the web process runs jobs itself and no worker is needed.
"""

from __future__ import annotations

from taskiq import TaskiqEvents, TaskiqState

from crm.core.config import get_settings
from crm.core.db import Database
from crm.core.mail import SmtpMailer
from crm.core.queue import broker, runtime
from crm.core.storage import LocalStorage
from crm.emails import jobs as email_jobs
from crm.emails.service import EmailDelivery
from crm.imports import jobs as import_jobs
from crm.imports.service import ImportRunner

JOB_MODULES = [email_jobs.__name__, import_jobs.__name__]


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _startup(_state: TaskiqState) -> None:
    settings = get_settings()
    database = Database.from_settings(settings)
    runtime.services["database"] = database
    runtime.services["email_delivery"] = EmailDelivery(database, SmtpMailer(settings), settings)
    runtime.services["import_runner"] = ImportRunner(
        database, LocalStorage(settings.data_dir / "attachments"), settings
    )


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def _shutdown(_state: TaskiqState) -> None:
    database: Database | None = runtime.services.pop("database", None)
    if database is not None:
        await database.dispose()


__all__ = ["JOB_MODULES", "broker"]
