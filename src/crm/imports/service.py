"""Importing leads from a table: the rules shared by the in-request import and the job.

- Headers are matched by ``HEADER_ALIASES``; the file needs first/last name columns or a
  title column, else it is refused as a whole.
- Each row is validated on its own. Invalid rows are skipped and reported with their data-
  row number and reasons; valid rows are kept (a file is not refused for some bad rows,
  only when none is valid).
- Rows are inserted ``CRM_IMPORT_BATCH_ROWS`` at a time. In a job each batch commits
  together with the job's progress, so a batch is all-or-nothing and a re-run resumes
  after the last committed batch without duplicating a lead.
- The progress update is conditional on the progress this worker last saw: if another
  worker has committed a batch meanwhile (this one was presumed dead and the job handed
  over), this worker's batch rolls back and it stops. A batch is committed once, ever.
- A lost database connection (server restarted, backend terminated) does not fail the
  job: the worker re-reads the committed progress and goes on from there, a few times
  with back-off. If the database stays away it gives up, the job stays "running", and
  once ``CRM_IMPORT_LEASE_SECONDS`` pass without progress the sweep hands it on.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.clock import utcnow
from crm.core.config import Settings
from crm.core.db import Database, database_unavailable, failure_reason
from crm.core.errors import PayloadTooLarge, ValidationFailed, error_message
from crm.core.queue import Dispatcher, enqueue_after_commit
from crm.core.storage import Storage
from crm.core.tabular import Table, UnreadableTable, open_table
from crm.core.tenancy import TenantContext, bind_tenant, unscoped
from crm.imports.repository import ImportRepository
from crm.imports.schemas import HEADER_ALIASES, ImportResultOut, LeadRow, RowError
from crm.models import LeadImport

IMPORT_JOB = "leads.import"
MAX_REPORTED_ERRORS = 1000  # per import; the counts stay exact beyond it
# After a lost database connection: waits before each new try (then the sweep's turn).
RECONNECT_BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)

logger = logging.getLogger("crm.imports")


class JobTakenOver(Exception):
    """Another worker has committed progress on this job (or finished it) since this one
    last did: this worker was presumed dead, and must not write anything more."""


def _row_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err.get("loc") else "row"
        errors.setdefault(name, []).append(error_message(err))
    return errors


def check_headers(table: Table) -> dict[str, str]:
    """Map the file's headers to lead fields; refuse a file that cannot name a lead."""
    mapping = {h: HEADER_ALIASES[h] for h in table.headers if h in HEADER_ALIASES}
    fields = set(mapping.values())
    if not ({"first_name", "last_name"} <= fields or "title" in fields):
        missing = ", ".join(sorted({"first_name", "last_name"} - fields))
        raise ValidationFailed.on(
            "leads_file", f"Missing headers: {missing} (or a title column)", code="missing_headers"
        )
    return mapping


@dataclass
class Batch:
    leads: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    failed: int = 0
    last_row: int = 0


def batches(
    table: Table,
    mapping: dict[str, str],
    *,
    org_id: uuid.UUID,
    created_by_id: uuid.UUID | None,
    size: int,
    skip_through: int = 0,
) -> Iterator[Batch]:
    """Validated rows as insert values, ``size`` rows at a time (blank rows are skipped)."""
    batch = Batch()
    for number, values in table.rows:
        if number <= skip_through:
            continue
        data = {mapping[h]: v for h, v in values.items() if h in mapping}
        try:
            row = LeadRow.model_validate(data)
        except ValidationError as exc:
            batch.failed += 1
            batch.errors.append({"row": number, "errors": _row_errors(exc)})
        else:
            now = utcnow()
            batch.leads.append(
                {
                    **row.model_dump(),
                    "email": str(row.email) if row.email else None,
                    "id": uuid.uuid4(),
                    "org_id": org_id,
                    "created_by_id": created_by_id,
                    "created_on": now,
                    "updated_at": now,
                    "is_active": False,
                    "created_from_site": False,
                }
            )
        batch.last_row = number
        if len(batch.leads) + batch.failed >= size:
            yield batch
            batch = Batch()
    if batch.leads or batch.failed or batch.last_row:
        yield batch


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := await anyio.to_thread.run_sync(handle.read, 64 * 1024):
            yield chunk


def count_rows(path: Path) -> int:
    with open_table(path) as table:
        return sum(1 for _ in table.rows)


class LeadImporter:
    """The in-request side: small files now, large ones handed to a job."""

    def __init__(self, session: AsyncSession, tenant: TenantContext, settings: Settings) -> None:
        self.session = session
        self.tenant = tenant
        self.settings = settings
        self.imports = ImportRepository(session)

    def _open(self, path: Path) -> tuple[Table, dict[str, str]]:
        try:
            table = open_table(path)
        except UnreadableTable as exc:
            raise ValidationFailed.on("leads_file", str(exc), code="unreadable_file") from exc
        try:
            return table, check_headers(table)
        except BaseException:
            table.close()
            raise

    async def import_now(self, path: Path) -> ImportResultOut:
        """Import the whole file in the request's transaction (one batch: all or nothing)."""
        table, mapping = self._open(path)
        imported, failed = 0, 0
        errors: list[dict[str, Any]] = []
        with table:
            try:
                for batch in batches(
                    table,
                    mapping,
                    org_id=self.tenant.org_id,
                    created_by_id=self.tenant.profile_id,
                    size=self.settings.import_batch_rows,
                ):
                    if batch.last_row > self.settings.max_import_rows:
                        raise PayloadTooLarge(
                            f"The file has more than {self.settings.max_import_rows} rows"
                        )
                    await self.imports.insert_leads(batch.leads)
                    imported += len(batch.leads)
                    failed += batch.failed
                    errors.extend(batch.errors[: max(0, MAX_REPORTED_ERRORS - len(errors))])
            except UnreadableTable as exc:
                raise ValidationFailed.on("leads_file", str(exc), code="unreadable_file") from exc
        report = [RowError.model_validate(e) for e in errors]
        if imported == 0:
            raise ValidationFailed(
                field_errors={"leads_file": ["All the leads in the file are invalid."]},
                code="no_valid_rows",
                extra={
                    "imported_count": 0,
                    "failed_count": failed,
                    "rows": [e.model_dump() for e in report],
                },
            )
        return ImportResultOut(imported_count=imported, failed_count=failed, errors=report)

    async def check_file(self, path: Path) -> int:
        """Refuse unreadable files, missing headers and too many rows; the data-row count."""
        table, _ = self._open(path)
        table.close()
        try:
            total = await anyio.to_thread.run_sync(count_rows, path)
        except UnreadableTable as exc:
            raise ValidationFailed.on("leads_file", str(exc), code="unreadable_file") from exc
        if total > self.settings.max_import_rows:
            raise PayloadTooLarge(
                f"The file has {total} rows; the limit is {self.settings.max_import_rows}"
            )
        return total

    async def start_job(self, file_name: str, storage_key: str, total_rows: int) -> LeadImport:
        job = LeadImport(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            file_name=file_name,
            storage_key=storage_key,
            total_rows=total_rows,
            errors=[],
        )
        self.imports.add_job(job)
        await self.session.flush()
        enqueue_after_commit(self.session, IMPORT_JOB, str(job.id))
        return job

    async def job(self, job_id: uuid.UUID) -> LeadImport | None:
        return await self.imports.job(job_id)


Progress = Callable[[LeadImport], None]


class ImportRunner:
    """The job side: runs a stored file in batches, each committed with the progress."""

    def __init__(self, database: Database, storage: Storage, settings: Settings) -> None:
        self.database = database
        self.storage = storage
        self.settings = settings

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.import_lease_seconds)

    async def run(self, job_id: uuid.UUID, progress: Progress | None = None) -> str | None:
        now = utcnow()
        async with self.database.sessionmaker() as session:
            job = await ImportRepository(session).claim(job_id, now, now - self.lease)
            await session.commit()
        if job is None:
            return None
        with tempfile.TemporaryDirectory(prefix="crm-import-") as tmp:
            path = Path(tmp) / "upload"
            with path.open("wb") as handle:
                async for chunk in await self.storage.open(job.storage_key):
                    await anyio.to_thread.run_sync(handle.write, chunk)
            try:
                return await self._import_resuming(job, path, progress)
            except (UnreadableTable, ValidationFailed) as exc:
                await self._finish(job, "failed", getattr(exc, "message", str(exc)))
                return "failed"
            except JobTakenOver:
                logger.warning("import %s was taken over by another worker; stopping", job.id)
                return None

    async def _import_resuming(self, job: LeadImport, path: Path, progress: Progress | None) -> str:
        """Import; after a lost connection, go on from the committed progress (what this
        worker did in memory may not have been committed)."""
        delays = iter(RECONNECT_BACKOFF_SECONDS)
        current: LeadImport | None = job
        while True:
            try:
                if current is None:
                    current = await self._reload(job.id)
                return await self._import(current, path, progress)
            except Exception as exc:
                delay = next(delays, None)
                if delay is None or not database_unavailable(exc):
                    raise
                logger.warning(
                    "import %s lost the database (%s); resuming in %s s",
                    job.id,
                    failure_reason(exc),
                    delay,
                )
                current = None
                await asyncio.sleep(delay)

    async def _reload(self, job_id: uuid.UUID) -> LeadImport:
        async with self.database.sessionmaker() as session:
            with unscoped(session):
                stored = await session.get(LeadImport, job_id)
        if stored is None or stored.status != "running":
            raise JobTakenOver
        return stored

    async def _import(self, job: LeadImport, path: Path, progress: Progress | None) -> str:
        errors: list[dict[str, Any]] = list(job.errors or [])
        with open_table(path) as table:
            mapping = check_headers(table)
            rows = batches(
                table,
                mapping,
                org_id=job.org_id,
                created_by_id=job.created_by_id,
                size=self.settings.import_batch_rows,
                skip_through=job.processed_rows,
            )
            while (batch := await anyio.to_thread.run_sync(next, rows, None)) is not None:
                errors.extend(batch.errors[: max(0, MAX_REPORTED_ERRORS - len(errors))])
                previous = job.processed_rows
                job.imported_count += len(batch.leads)
                job.failed_count += batch.failed
                job.processed_rows = batch.last_row
                async with self.database.sessionmaker() as session:
                    repository = ImportRepository(session)
                    await repository.insert_leads(batch.leads)
                    recorded = await repository.record_batch(
                        job.id,
                        after_row=previous,
                        processed_rows=job.processed_rows,
                        imported_count=job.imported_count,
                        failed_count=job.failed_count,
                        errors=errors,
                        updated_at=utcnow(),
                    )
                    if not recorded:
                        raise JobTakenOver  # leaving the block rolls the batch back
                    await session.commit()  # the batch and its progress, together
                if progress is not None:
                    progress(job)
        if job.imported_count == 0:
            await self._finish(job, "failed", "All the leads in the file are invalid.")
            return "failed"
        await self._finish(job, "done", None)
        return "done"

    async def _finish(self, job: LeadImport, status: str, message: str | None) -> None:
        job.status, job.message = status, message
        async with self.database.sessionmaker() as session:
            await ImportRepository(session).record(
                job.id, status=status, message=message, finished_at=utcnow()
            )
            await session.commit()

    async def start_from_file(
        self, org_id: uuid.UUID, path: Path, acting_email: str | None
    ) -> LeadImport:
        """Queue a file for import on behalf of a member (the command line's way in)."""
        total = await anyio.to_thread.run_sync(count_rows, path)
        if total > self.settings.max_import_rows:
            raise PayloadTooLarge(
                f"The file has {total} rows; the limit is {self.settings.max_import_rows}"
            )
        with open_table(path) as table:
            check_headers(table)
        async with self.database.sessionmaker() as session:
            repository = ImportRepository(session)
            actor = await repository.acting_member(org_id, acting_email)
            if actor is None:
                raise ValidationFailed.on("org", "No such active member in this organization")
            stored = await self.storage.save(
                file_chunks(path), max_bytes=self.settings.max_import_bytes
            )
            bind_tenant(
                session,
                TenantContext(
                    org_id=org_id, profile_id=actor.id, user_id=actor.user_id, role=actor.role
                ),
            )
            job = LeadImport(
                org_id=org_id,
                created_by_id=actor.id,
                file_name=path.name,
                storage_key=stored.key,
                total_rows=total,
                errors=[],
            )
            repository.add_job(job)
            await session.commit()
        return job

    async def load(self, job_id: uuid.UUID) -> LeadImport | None:
        async with self.database.sessionmaker() as session:
            with unscoped(session):
                return await session.get(LeadImport, job_id)

    async def sweep(self, dispatcher: Dispatcher) -> int:
        """Hand pending jobs, and running ones whose worker died, to the dispatcher."""
        now = utcnow()
        async with self.database.sessionmaker() as session:
            due = await ImportRepository(session).due(now, now - self.lease)
        for job_id in due:
            await dispatcher.enqueue(IMPORT_JOB, str(job_id))
        return len(due)
