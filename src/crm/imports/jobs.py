"""Jobs of the import domain: run one stored import; safe to run twice (claimed, resumable)."""

from __future__ import annotations

import uuid

from crm.core.queue import job, runtime
from crm.imports.service import IMPORT_JOB, ImportRunner


@job(IMPORT_JOB)
async def run_import(job_id: str) -> None:
    runner: ImportRunner = runtime.get("import_runner")
    await runner.run(uuid.UUID(job_id))
