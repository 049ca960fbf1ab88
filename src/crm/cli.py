"""The ``crm`` command: serve the API, manage the schema, create the first org, load demo data.

A composition root: it wires settings, the database and the domain services, and nothing
else imports it. Every command reads the same ``CRM_*`` settings as the server.

The database, Alembic and the domain services are imported inside the commands: uvicorn's
worker processes re-import this module before they answer the supervisor's health check,
and ``crm --help`` should not pay for the whole application either.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crm.core.config import Settings, get_settings

app = typer.Typer(
    help="Multi-tenant CRM server.", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    err_console.print(message, style="red", markup=False)
    return typer.Exit(code=1)


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _prepare(settings: Settings) -> str:
    """Data directory, secret key and schema: what every command that touches data needs."""
    from crm.core import migrations

    settings.ensure_data_dir()
    settings.resolved_secret_key()
    url = settings.effective_database_url
    migrations.upgrade(url)
    return url


# -- serve ----------------------------------------------------------------------------------


def default_workers(database_url: str) -> int:
    """One process on SQLite (one writer at a time anyway); else two per core, at most four."""
    from sqlalchemy.engine import make_url

    if make_url(database_url).get_backend_name() == "sqlite":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(2 * (cores or 1), 4)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes. Default: 1 on SQLite, else min(2 x cores, 4).",
            show_default=False,
        ),
    ] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Apply pending migrations, then serve the API with uvicorn."""
    import uvicorn

    settings = get_settings()
    # Resolved here, once, so that every worker reads the same file-stored key.
    url = _prepare(settings)
    count = workers or default_workers(url)
    if reload and count > 1:
        err_console.print("--reload runs a single process; ignoring --workers", style="yellow")
        count = 1
    console.print(f"database {_shown_url(url)} is at head; serving on http://{host}:{port}")
    uvicorn.run(
        "crm.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=count,
        reload=reload,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        # The app believes X-Forwarded-* only from CRM_TRUSTED_PROXIES (crm.app); uvicorn's
        # own default would trust 127.0.0.1 behind the app's back.
        proxy_headers=False,
        # Workers import the whole app before they serve; on a busy machine that can take
        # longer than uvicorn's 5 s default, which would kill and restart them in a loop.
        timeout_worker_healthcheck=30,
    )


@app.command()
def worker(
    processes: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run background jobs from Redis (needs CRM_REDIS_URL; without it the server runs them)."""
    from taskiq.cli.worker.args import WorkerArgs
    from taskiq.cli.worker.run import run_worker

    settings = get_settings()
    if not settings.redis_url:
        raise _fail("CRM_REDIS_URL is not set: the server runs jobs in-process, no worker needed")
    _prepare(settings)
    from crm.worker import JOB_MODULES

    args = WorkerArgs(broker="crm.worker:broker", modules=JOB_MODULES, workers=processes)
    raise typer.Exit(code=run_worker(args) or 0)


import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("leads")
def import_leads(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or XLSX file")
    ],
    org: Annotated[str, typer.Option("--org", help="Organization id")],
    as_email: Annotated[
        str | None,
        typer.Option("--as", help="Member the leads are created by (default: first admin)"),
    ] = None,
) -> None:
    """Import leads from a CSV or XLSX file, with a progress bar. Same rules as
    POST /api/leads/upload/; the job is visible at /api/leads/upload/<job id>/."""
    import uuid

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from crm.core.db import Database
    from crm.core.errors import DomainError
    from crm.core.storage import LocalStorage
    from crm.imports.service import ImportRunner

    settings = get_settings()
    _prepare(settings)
    try:
        org_id = uuid.UUID(org)
    except ValueError as exc:
        raise _fail(f"--org is not an organization id: {org!r}") from exc

    async def run() -> tuple[str | None, int, int, int, list[dict[str, object]]]:
        database = Database.from_settings(settings)
        runner = ImportRunner(database, LocalStorage(settings.data_dir / "attachments"), settings)
        try:
            job = await runner.start_from_file(org_id, file, as_email)
            with Progress(
                TextColumn("importing {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task(file.name, total=job.total_rows)
                status = await runner.run(
                    job.id, progress=lambda j: progress.update(task, completed=j.processed_rows)
                )
                progress.update(task, completed=job.total_rows)
            final = await runner.load(job.id) or job
            return status, final.imported_count, final.failed_count, final.total_rows, final.errors
        finally:
            await database.dispose()

    try:
        status, imported, failed, total, errors = asyncio.run(run())
    except DomainError as exc:
        raise _fail(f"import refused: {exc.field_errors or exc.message}") from exc
    for error in errors[:20]:
        err_console.print(f"row {error['row']}: {error['errors']}", style="yellow", markup=False)
    console.print(f"{imported} imported, {failed} failed of {total} rows ({status})")
    if status != "done":
        raise typer.Exit(code=1)


# -- db -------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from alembic.util.exc import CommandError

    from crm.core import migrations

    settings = get_settings()
    settings.ensure_data_dir()
    url = settings.effective_database_url
    try:
        migrations.upgrade(url, revision)
    except CommandError as exc:
        raise _fail(f"upgrade failed: {exc}") from exc
    current = migrations.current_revision(settings, url)
    console.print(f"database {_shown_url(url)} upgraded to {current}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the head revision."""
    from crm.core import migrations

    settings = get_settings()
    url = settings.effective_database_url
    current = migrations.current_revision(settings, url)
    head = migrations.head_revision(url)
    typer.echo(f"current={current or 'none'}")
    typer.echo(f"head={head or 'none'}")
    if current != head:
        err_console.print("the database is not at head: run `crm db upgrade`", style="yellow")


@db_app.command("check")
def db_check() -> None:
    """Fail when the models and the migrations have drifted apart."""
    from alembic.util.exc import AutogenerateDiffsDetected, CommandError

    from crm.core import migrations

    settings = get_settings()
    url = settings.effective_database_url
    try:
        migrations.check(url)
    except AutogenerateDiffsDetected as exc:
        raise _fail(
            "The models and the migrations have drifted apart; "
            f"add a migration (alembic revision --autogenerate -m '...').\n{exc}"
        ) from exc
    except CommandError as exc:
        raise _fail(f"check failed: {exc} (run `crm db upgrade` first)") from exc
    console.print("models and migrations match", style="green")


# -- bootstrap and demo ---------------------------------------------------------------------


@app.command()
def bootstrap(
    email: Annotated[str, typer.Option(help="E-mail of the org's first admin.")],
    password: Annotated[str, typer.Option(help="Their password (reused user: must match).")],
    org: Annotated[str, typer.Option(help="Name of the organization to create.")],
    first_name: Annotated[str, typer.Option(help="Admin's first name.")] = "",
    last_name: Annotated[str, typer.Option(help="Admin's last name.")] = "",
) -> None:
    """Create an org and its first ADMIN (a new or existing user); print the org id and tokens.

    Prints plain ``org_id=``, ``profile_id=``, ``access_token=`` and ``refresh_token=`` lines.
    """
    from crm import demo
    from crm.core.errors import DomainError

    settings = get_settings()
    _prepare(settings)
    try:
        result = asyncio.run(
            demo.bootstrap_org(
                settings,
                email=email,
                password=password,
                org_name=org,
                first_name=first_name,
                last_name=last_name,
            )
        )
    except DomainError as exc:
        raise _fail(exc.message) from exc
    typer.echo(f"org_id={result.org_id}")
    typer.echo(f"profile_id={result.profile_id}")
    typer.echo(f"access_token={result.access}")
    typer.echo(f"refresh_token={result.refresh}")


@app.command("demo")
def load_demo(
    password: Annotated[
        str | None,
        typer.Option(
            help="Password of every demo user. Default: a new random one.", show_default=False
        ),
    ] = None,
) -> None:
    """Load the "Acme-Demo" org (users, teams, a website API setting and sales data:
    accounts, contacts, leads, opportunities); safe to run twice.

    Prints the org id, the demo logins and their shared password (shown on the first run only).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from crm import demo
    from crm.core.errors import DomainError

    settings = get_settings()
    _prepare(settings)
    plan = demo.DemoPlan.new(password)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("demo data", total=len(demo.SEEDS))

        def step(description: str) -> None:
            progress.update(task, description=description, advance=1)

        try:
            outcome = asyncio.run(demo.load(settings, plan, on_step=step))
        except DomainError as exc:
            raise _fail(exc.message) from exc
    if not outcome.created:
        console.print(f'"{plan.org_name}" is already loaded; nothing changed.')
        return
    console.print(f'Loaded "{plan.org_name}": {outcome.summary}.', style="green")
    typer.echo(f"org_id={outcome.org_id}")
    for login in outcome.logins:
        typer.echo(f"{login.role:<5} {login.email}")
    typer.echo(f"password={plan.password}")


# -- bench ----------------------------------------------------------------------------------

bench_app = typer.Typer(
    help="The load benchmark of bench/ (a source checkout): seed a data set, run the scenarios.",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _bench_script(name: str) -> Path:
    """bench/<name>.py of the checkout this package runs from (it is not in the wheel)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        script = parent / "bench" / f"{name}.py"
        if script.is_file():
            return script
    raise _fail("crm bench needs a source checkout: bench/ is not installed with the package")


def _run_bench(name: str, args: list[str]) -> None:
    import subprocess
    import sys

    script = _bench_script(name)
    code = subprocess.call([sys.executable, str(script), *args])  # noqa: S603 - our own script
    raise typer.Exit(code=code)


@bench_app.command("seed", context_settings=_PASS_THROUGH, add_help_option=False)
def bench_seed(ctx: typer.Context) -> None:
    """Bulk-load the benchmark org (bench/seed.py; `crm bench seed --help` for options)."""
    _run_bench("seed", ctx.args)


@bench_app.command("run", context_settings=_PASS_THROUGH, add_help_option=False)
def bench_run(ctx: typer.Context) -> None:
    """Serve the seeded database and run the scenarios (bench/run.py; `--help` for options)."""
    _run_bench("run", ctx.args)


def main() -> None:
    app()
