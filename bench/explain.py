"""Which SQL an endpoint issues, how long each statement takes, and its plan.

Runs the application in-process (``httpx.ASGITransport``, no server) on the seeded
database, logs in as the seeded admin, warms each endpoint up, then captures every
statement of one request with its parameters and database time. Statements slower than
``--min-ms`` are explained: ``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY
PLAN`` (plus a timed re-run) on SQLite. Read-only: list and detail endpoints only.

    .venv/bin/python bench/explain.py --database-url postgresql://postgres@127.0.0.1/crm_bench
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from seeded_org import ADMIN_EMAIL, ORG_NAME, PASSWORD, SECRET_KEY
from sqlalchemy import event

from crm.app import create_app
from crm.core.config import Settings
from crm.core.pagination import SPLIT_HALVES, CursorSigner

ENDPOINTS = {
    "list_accounts": "/api/accounts/?limit=10",
    "list_leads_filtered": "/api/leads/?status=assigned&source=Referral&limit=10",
    "lead_detail": "/api/leads/{lead_id}/",
    "list_opportunities": "/api/opportunities/?limit=10",
    "leads_deep_offset": "/api/leads/?offset=100000&limit=10",
    # The same page by cursor: the token of the open lead just before offset 100,000.
    "leads_deep_cursor": "/api/leads/?cursor={deep_cursor}&limit=10",
    "list_leads_filtered_cursor": "/api/leads/?status=assigned&source=Referral&cursor=&limit=10",
    "search": "/api/search/?q=north",
    "search_person": "/api/search/?q=maria+smith",
    "search_rare": "/api/search/?q=zqxv",
    "search_short": "/api/search/?q=zo",
}


async def deep_cursor(client: httpx.AsyncClient, settings: Settings) -> str:
    """A cursor token of the open half positioned after the lead at offset 99,999."""
    page = (await client.get("/api/leads/?offset=99999&limit=1")).json()["open_leads"]
    if not page:
        return ""
    last = page[0]
    signer = CursorSigner.of(settings, "/api/leads/", SPLIT_HALVES)
    after = (datetime.fromisoformat(last["created_on"]), uuid.UUID(last["id"]))
    return signer.encode(after, "open")


console = Console(highlight=False, soft_wrap=True)


@dataclass
class Statement:
    sql: str
    parameters: Any
    ms: float


async def explain(
    database_url: str, names: list[str], min_ms: float, repeat: int
) -> list[tuple[str, float, list[Statement], dict[int, str]]]:
    with tempfile.TemporaryDirectory(prefix="crm-bench-explain-") as tmp:
        settings = Settings(
            database_url=database_url,
            secret_key=SECRET_KEY,
            data_dir=Path(tmp),
            log_level="WARNING",
            list_cache_entries=0,  # the warm-ups would otherwise make the request a cache hit
        )
        app = create_app(settings)
        engine = app.state.database.engine
        captured: list[Statement] = []

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _before(conn: Any, _cursor: Any, _sql: str, _params: Any, *_: Any) -> None:
            conn.info.setdefault("crm_bench_started", []).append(time.perf_counter())

        @event.listens_for(engine.sync_engine, "after_cursor_execute")
        def _after(conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
            began = conn.info["crm_bench_started"].pop()
            captured.append(Statement(sql, params, (time.perf_counter() - began) * 1000))

        report = []
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                login = await client.post(
                    "/api/auth/login/", json={"email": ADMIN_EMAIL, "password": PASSWORD}
                )
                login.raise_for_status()
                client.headers["Authorization"] = f"Bearer {login.json()['access']}"
                orgs = (await client.get("/api/org/")).json()["profile_org_list"]
                org_id = next(o["org"]["id"] for o in orgs if o["org"]["name"] == ORG_NAME)
                client.headers["organization-id"] = org_id
                first = (await client.get("/api/leads/?limit=1")).json()["open_leads"][0]["id"]
                token = await deep_cursor(client, settings) if "leads_deep_cursor" in names else ""
                for name in names:
                    path = ENDPOINTS[name].format(lead_id=first, deep_cursor=token)
                    for _ in range(repeat):
                        (await client.get(path)).raise_for_status()
                    captured.clear()
                    began = time.perf_counter()
                    (await client.get(path)).raise_for_status()
                    wall = (time.perf_counter() - began) * 1000
                    statements = list(captured)
                    plans: dict[int, str] = {}
                    async with engine.connect() as conn:
                        for index, statement in enumerate(statements):
                            if statement.ms < min_ms:
                                continue
                            if engine.dialect.name == "postgresql":
                                prefix = "EXPLAIN (ANALYZE, BUFFERS) "
                            else:
                                prefix = "EXPLAIN QUERY PLAN "
                            rows = await conn.exec_driver_sql(
                                prefix + statement.sql, statement.parameters
                            )
                            plans[index] = "\n".join(
                                " | ".join(str(v) for v in row) if len(row) > 1 else str(row[0])
                                for row in rows
                            )
                    report.append((f"{name} ({path})", wall, statements, plans))
        finally:
            await app.state.database.dispose()
        return report


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    database_url: Annotated[
        str, typer.Option(envvar="CRM_DATABASE_URL", help="The database seed.py filled.")
    ],
    endpoint: Annotated[
        list[str] | None,
        typer.Option(help=f"Endpoints to look at (repeatable): {', '.join(ENDPOINTS)}."),
    ] = None,
    min_ms: Annotated[float, typer.Option(help="Explain statements slower than this.")] = 2.0,
    repeat: Annotated[int, typer.Option(min=0, help="Warm-up requests per endpoint.")] = 3,
) -> None:
    """Print each endpoint's statements with their time, and the plans of the slow ones."""
    names = endpoint or list(ENDPOINTS)
    unknown = [n for n in names if n not in ENDPOINTS]
    if unknown:
        raise typer.BadParameter(f"unknown endpoint(s): {', '.join(unknown)}")
    for title, wall, statements, plans in asyncio.run(explain(database_url, names, min_ms, repeat)):
        total = sum(s.ms for s in statements)
        console.print(
            f"\n[bold]{title}[/bold]: {len(statements)} statements, {total:.1f} ms in the "
            f"database, {wall:.1f} ms for the whole request (in-process)"
        )
        for statement in statements:
            console.print(f"  {statement.ms:7.2f} ms  {' '.join(statement.sql.split())[:110]}")
        for index, plan in plans.items():
            statement = statements[index]
            console.print(f"\n  [bold]{statement.ms:.1f} ms[/bold]:", markup=True)
            console.print(statement.sql, markup=False)
            console.print(f"parameters: {statement.parameters}", markup=False)
            console.print(plan, markup=False)


if __name__ == "__main__":
    app()
