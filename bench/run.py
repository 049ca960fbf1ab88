"""Load benchmark: start the real server on a seeded database and drive it (bench/README.md).

Counts the SQL statements of each scenario's requests on the app run in-process, then starts
``crm serve`` as a subprocess on a free port of 127.0.0.1 (API rate limits off), logs in as
the admin ``seed.py`` made, and runs each scenario with ``loadclient.py`` at a fixed
concurrency: a warm-up whose results are discarded, then a bounded measurement. Records
req/s, latency percentiles, errors, SQL statements per request, the CPU the client, the
server and the whole machine spent, and the server's RSS before and after each scenario;
writes ``bench/results/<date>-<backend>.json`` and ``.md`` and replaces that backend's table
in ``bench/README.md``. Scenarios whose endpoint does not exist yet (search) are listed as
"not built".

    .venv/bin/python bench/run.py --database-url postgresql://postgres@127.0.0.1/crm_bench \
        --workers 2
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import platform
import random
import re
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import IO, Annotated, Any, cast

import httpx
import typer
import uvloop
from loadclient import Connection, HttpError
from rich.console import Console
from rich.table import Table as RichTable
from seeded_org import ADMIN_EMAIL, ANCHOR, ORG_NAME, PASSWORD, SECRET_KEY, backend_of, crm_command
from sqlalchemy import Table, event, func, select, text
from sqlalchemy.engine import make_url

from crm.app import create_app
from crm.core.config import Settings
from crm.core.db import create_engine
from crm.models import Account, Contact, Lead, Opportunity, Org

BENCH_DIR = Path(__file__).resolve().parent
LIST_TARGET_P95_MS = 50.0  # the target, for list endpoints on PostgreSQL
DETAIL_IDS = 1_000
# The API's per-credential limit (1,200 requests a minute by default) would answer most of
# the load with 429: the benchmark measures the server without it, unless the environment
# sets these.
RATE_LIMITS_OFF = {
    name: os.environ.get(name, "0")
    for name in ("CRM_RATE_LIMIT_API_PER_CREDENTIAL", "CRM_RATE_LIMIT_API_PER_IP")
}
LINK_TABLES = tuple(
    f"{owner}_{role}"
    for owner in ("accounts", "contacts", "leads", "opportunities")
    for role in ("assignees", "tags", "teams", "contacts")
    if owner != "contacts" or role != "contacts"
)

console = Console(highlight=False)


# -- scenarios ------------------------------------------------------------------------------

Request = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    requests: str  # what it asks, for the README
    is_list: bool
    next_request: Callable[[], Request]


SEARCH_PATH = "/api/search/"  # issue 7's search endpoint; the scenario runs once it exists


def scenarios(
    seeded: SeededData, lead_source: str, run_id: str, deep_offset: int
) -> list[Scenario]:
    """The issue's scenarios; the writes last, as they change what the lists show."""
    detail_ids = itertools.cycle(seeded.lead_ids)
    account_ids = itertools.cycle(seeded.account_ids)
    opportunity_ids = itertools.cycle(seeded.opportunity_ids)
    serial = itertools.count()
    updates = itertools.count()
    source = lead_source.replace(" ", "+")

    def new_lead() -> Request:
        n = next(serial)
        body = {
            "first_name": "Bench",
            "last_name": f"Lead {run_id}-{n}",
            "email": f"bench.{run_id}.{n}@example.net",
            "phone": "+14155550999",
            "title": "Pricing question",
            "status": "assigned",
            "source": lead_source,
            "account_name": f"Bench Prospect {run_id}-{n}",
            "city": "Lisbon",
            "country": "PT",
            "opportunity_amount": "12500.00",
            "probability": 20,
        }
        return "POST", "/api/leads/", body

    def update_opportunity() -> Request:
        n = next(updates)
        body = {"description": f"bench update {run_id}-{n}"}
        return "PATCH", f"/api/opportunities/{next(opportunity_ids)}/", body

    def get(path: str) -> Callable[[], Request]:
        return lambda: ("GET", path, None)

    return [
        Scenario(
            "list_accounts",
            "`GET /api/accounts/?limit=10`: open and closed halves, each counted and paged, "
            "plus the contact, member, team and tag lookups",
            True,
            get("/api/accounts/?limit=10"),
        ),
        Scenario(
            "list_accounts_100",
            "`GET /api/accounts/?limit=100`: as `list_accounts`, 100 rows per half",
            True,
            get("/api/accounts/?limit=100"),
        ),
        Scenario(
            "list_leads_filtered",
            f"`GET /api/leads/?status=assigned&source={source}&limit=10`: two filters; "
            "the open half, counted and paged, plus the lookups",
            True,
            get(f"/api/leads/?status=assigned&source={source}&limit=10"),
        ),
        Scenario(
            "leads_deep_page",
            f"`GET /api/leads/?offset={deep_offset}&limit=10`: a deep page (both halves "
            "counted; the page is empty where a half has fewer rows than the offset)",
            True,
            get(f"/api/leads/?offset={deep_offset}&limit=10"),
        ),
        Scenario(
            "lead_detail",
            f"`GET /api/leads/<id>/`, rotating over {len(seeded.lead_ids):,} seeded lead ids "
            "drawn with the seed (about 12% converted: their account, contact and "
            "opportunity load too)",
            False,
            lambda: ("GET", f"/api/leads/{next(detail_ids)}/", None),
        ),
        Scenario(
            "account_detail",
            f"`GET /api/accounts/<id>/`, rotating over {len(seeded.account_ids):,} seeded "
            "account ids: the account with its related contacts, opportunities, cases, "
            "tasks, invoices and the lookups",
            False,
            lambda: ("GET", f"/api/accounts/{next(account_ids)}/", None),
        ),
        Scenario(
            "list_opportunities",
            "`GET /api/opportunities/?limit=10`: count, page, per-currency forecast totals of "
            "the whole set, and the account, contact, member and team lookups",
            True,
            get("/api/opportunities/?limit=10"),
        ),
        Scenario(
            "erp_opportunity_list",
            "`GET /api/crm/opportunity?limit=20`: the ERPNext-style list (count and page)",
            True,
            get("/api/crm/opportunity?limit=20"),
        ),
        Scenario(
            "dashboard",
            "`GET /api/dashboard/`: the counts and recent records of the dashboard",
            False,
            get("/api/dashboard/"),
        ),
        Scenario(
            "search",
            f"`GET {SEARCH_PATH}?q=north`: search (issue 7); not run until the endpoint exists",
            False,
            get(f"{SEARCH_PATH}?q=north"),
        ),
        Scenario(
            "update_opportunity",
            f"`PATCH /api/opportunities/<id>/` of the description, rotating over "
            f"{len(seeded.opportunity_ids):,} seeded opportunity ids (their descriptions "
            "stay changed)",
            False,
            update_opportunity,
        ),
        Scenario(
            "create_lead",
            "`POST /api/leads/` with a unique lead (names, e-mail, source, city, amount); "
            "the leads are deleted again after the run",
            False,
            new_lead,
        ),
    ]


# -- measuring ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (utime + stime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def total_rss(rows: list[dict[str, Any]]) -> float:
    """MiB: the sum of VmRSS over the server's processes."""
    return round(sum(float(row["rss_mib"]) for row in rows), 1)


def rss_of(pids: list[int], root: int) -> list[dict[str, Any]]:
    """VmRSS of each process of the server, with what it is."""
    rows = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match is None:
            continue
        if pid == root:
            role = "crm serve (supervisor)" if "--workers 1" not in cmdline else "crm serve"
        elif "resource_tracker" in cmdline:
            role = "multiprocessing resource tracker"
        else:
            role = "uvicorn worker"
        rows.append({"pid": pid, "role": role, "rss_mib": round(int(match.group(1)) / 1024, 1)})
    return rows


@dataclass
class Measurement:
    name: str
    requests: str
    is_list: bool
    completed: int = 0
    errors: int = 0
    seconds: float = 0.0
    req_per_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    mean_ms: float = 0.0
    client_cpu_percent: float = 0.0
    server_cpu_percent: float = 0.0
    rest_cpu_percent: float = 0.0
    machine_cpu_percent: float = 0.0
    server_cpu_ms_per_request: float = 0.0
    rest_cpu_ms_per_request: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    target_p95_ms: float | None = None
    meets_target: bool | None = None
    sql_first: int | None = None  # statements of one request, in-process, on a fresh app
    sql_repeated: int | None = None  # of the next request of the scenario (caches warm)
    rss_before_mib: float = 0.0  # all the server's processes, before the warm-up
    rss_after_mib: float = 0.0  # and after the measured window


async def drive(
    connections: list[Connection],
    scenario: Scenario,
    concurrency: int,
    seconds: float,
    server_pids: list[int],
    created: list[str],
) -> Measurement:
    """``concurrency`` loops, each sending the scenario's next request as soon as its last
    one answered, until ``seconds`` have passed; requests started before then all count."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    samples: list[str] = []

    async def loop(connection: Connection, deadline: float) -> None:
        while time.perf_counter() < deadline:
            method, path, body = scenario.next_request()
            began = time.perf_counter()
            try:
                status, content = await connection.request(method, path, body)
            except HttpError as exc:
                latencies.append(time.perf_counter() - began)
                statuses[type(exc).__name__] += 1
                if len(samples) < 5:
                    samples.append(f"{method} {path}: {exc}")
                continue
            latencies.append(time.perf_counter() - began)
            statuses[str(status)] += 1
            if 200 <= status < 300 and method == "POST":
                created.append(json.loads(content)["id"])
            elif not 200 <= status < 300 and len(samples) < 5:
                samples.append(f"{method} {path}: {status} {content[:300]!r}")

    client_cpu, server_cpu, busy = time.process_time(), cpu_seconds(server_pids), machine_busy()
    began = time.perf_counter()
    await asyncio.gather(*(loop(c, began + seconds) for c in connections[:concurrency]))
    elapsed = time.perf_counter() - began
    client_cpu = time.process_time() - client_cpu
    server_cpu = cpu_seconds(server_pids) - server_cpu
    busy_end = machine_busy()
    latencies.sort()
    ms = [value * 1000 for value in latencies]
    cores = len(os.sched_getaffinity(0))
    machine_cpu = cores * elapsed * (busy_end[0] - busy[0]) / max(busy_end[1] - busy[1], 1)
    # Everything but the client and the server: the database, mostly (the PostgreSQL
    # backends and their parallel workers), and whatever else runs on the machine.
    rest_cpu = max(machine_cpu - client_cpu - server_cpu, 0.0)
    errors = sum(count for status, count in statuses.items() if not status.startswith("2"))
    result = Measurement(
        name=scenario.name,
        requests=scenario.requests,
        is_list=scenario.is_list,
        completed=len(ms),
        errors=errors,
        seconds=round(elapsed, 2),
        req_per_s=round(len(ms) / elapsed, 1),
        p50_ms=round(percentile(ms, 50), 1),
        p95_ms=round(percentile(ms, 95), 1),
        p99_ms=round(percentile(ms, 99), 1),
        max_ms=round(ms[-1], 1) if ms else math.nan,
        mean_ms=round(sum(ms) / len(ms), 1) if ms else math.nan,
        # Percent of one core, as top shows it (2 cores = 200%).
        client_cpu_percent=round(100 * client_cpu / elapsed, 0),
        server_cpu_percent=round(100 * server_cpu / elapsed, 0),
        rest_cpu_percent=round(100 * rest_cpu / elapsed, 0),
        # Percent of the whole machine (every core).
        machine_cpu_percent=round(100 * machine_cpu / (cores * elapsed), 0),
        server_cpu_ms_per_request=round(1000 * server_cpu / max(len(ms), 1), 1),
        rest_cpu_ms_per_request=round(1000 * rest_cpu / max(len(ms), 1), 1),
        statuses=dict(statuses),
        error_samples=samples,
    )
    return result


# -- SQL statements per request -------------------------------------------------------------


async def count_statements(
    database_url: str, org_id: uuid.UUID, plan: list[Scenario], data_dir: Path, created: list[str]
) -> tuple[dict[str, tuple[int, int]], set[str]]:
    """Run the application in-process (no server, no load) and count the SQL statements two
    consecutive requests of each scenario issue: the first on a fresh app, the second with
    its caches warm (as the load mostly sees them). Also returns the API's paths, to tell
    which scenarios have an endpoint. Created leads are added to ``created``."""
    settings = Settings(
        database_url=database_url, secret_key=SECRET_KEY, data_dir=data_dir, log_level="WARNING"
    )
    app = create_app(settings)
    paths = {getattr(route, "path", "") for route in app.routes}
    engine = app.state.database.engine
    statements = [0]

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    counts: dict[str, tuple[int, int]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await log_in(client, org_id)
            for scenario in plan:
                if not has_endpoint(scenario, paths):
                    continue
                pair = []
                for _ in range(2):
                    method, path, body = scenario.next_request()
                    statements[0] = 0
                    response = await client.request(method, path, json=body)
                    pair.append(statements[0])
                    if response.is_success and method == "POST":
                        created.append(response.json()["id"])
                counts[scenario.name] = (pair[0], pair[1])
    return counts, paths


def has_endpoint(scenario: Scenario, paths: set[str]) -> bool:
    """Whether the API has the route the scenario requests (search is not built yet)."""
    return scenario.name != "search" or SEARCH_PATH in paths


# -- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(
    database_url: str, workers: int, data_dir: Path, log: IO[bytes]
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``crm serve`` in its own process group; stopped (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": database_url,
        "CRM_DATA_DIR": str(data_dir),
        "CRM_SECRET_KEY": SECRET_KEY,
        "PYTHONUNBUFFERED": "1",  # the startup lines reach the log as they happen
        **RATE_LIMITS_OFF,
    }
    command = [*crm_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    server = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


async def wait_ready(
    base_url: str, server: subprocess.Popen[bytes], log_path: Path, workers: int, within: float
) -> None:
    """Until every worker has started (each logs "Application startup complete.") and the
    API answers (401 without a token is an answer). Importing the app takes seconds of CPU
    per worker: measuring while one still starts would measure the start."""
    deadline = time.perf_counter() + within
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while time.perf_counter() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with code {server.returncode}")
            log = await asyncio.to_thread(log_path.read_bytes)
            started = log.count(b"Application startup complete.")
            if started >= workers:
                try:
                    await client.get("/api/org/")
                    return
                except httpx.TransportError:
                    pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server did not start {workers} worker(s) within {within:.0f} s")


# -- the seeded data ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeededData:
    org_id: uuid.UUID
    database_version: str
    sizes: dict[str, int]
    lead_ids: list[uuid.UUID]
    account_ids: list[uuid.UUID]
    opportunity_ids: list[uuid.UUID]


async def read_seeded(database_url: str, seed: int) -> SeededData:
    """Sizes, database version and the detail scenario's lead ids, straight from the
    database (the benchmark's own; the server has not started yet)."""
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY)
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            org_id = await conn.scalar(select(Org.id).where(Org.name == ORG_NAME))
            if org_id is None:
                raise typer.BadParameter(
                    f'no org named "{ORG_NAME}": run bench/seed.py first',
                    param_hint="--database-url",
                )
            if engine.dialect.name == "postgresql":
                db_version = "PostgreSQL " + str(await conn.scalar(text("SHOW server_version")))
            else:
                db_version = "SQLite " + str(await conn.scalar(text("SELECT sqlite_version()")))
            sizes: dict[str, int] = {}
            for model in (Account, Contact, Lead, Opportunity):
                table = cast(Table, model.__table__)
                sizes[table.name] = int(
                    await conn.scalar(
                        select(func.count()).select_from(table).where(table.c.org_id == org_id)
                    )
                    or 0
                )
            links = 0
            for name in LINK_TABLES:
                links += int(await conn.scalar(text(f"SELECT count(*) FROM {name}")) or 0)  # noqa: S608 - fixed names
            sizes["link_rows"] = links
            # Seeded records only (created on or before the anchor), in a stable order.
            seeded_ids = {}
            for model in (Lead, Account, Opportunity):
                seeded_ids[model] = list(
                    await conn.scalars(
                        select(model.id)
                        .where(model.org_id == org_id, model.created_on <= ANCHOR)
                        .order_by(model.id)
                    )
                )
    finally:
        await engine.dispose()
    rng = random.Random(seed)  # noqa: S311 - sampling

    def sample(ids: list[uuid.UUID]) -> list[uuid.UUID]:
        return rng.sample(ids, min(DETAIL_IDS, len(ids)))

    return SeededData(
        org_id,
        db_version,
        sizes,
        sample(seeded_ids[Lead]),
        sample(seeded_ids[Account]),
        sample(seeded_ids[Opportunity]),
    )


async def log_in(client: httpx.AsyncClient, org_id: uuid.UUID) -> None:
    response = await client.post(
        "/api/auth/login/", json={"email": ADMIN_EMAIL, "password": PASSWORD}
    )
    response.raise_for_status()
    client.headers["Authorization"] = f"Bearer {response.json()['access']}"
    client.headers["organization-id"] = str(org_id)


async def delete_created(client: httpx.AsyncClient, ids: list[str], concurrency: int) -> int:
    """Delete the leads the create scenario made, so a re-run sees the seeded data set.
    Failures (SQLite refuses concurrent writers) are retried one at a time; returns how
    many could not be deleted."""
    failed: list[str] = []
    queue = iter(ids)

    async def loop() -> None:
        for lead_id in queue:
            response = await client.delete(f"/api/leads/{lead_id}/")
            if not response.is_success and response.status_code != 404:
                failed.append(lead_id)

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    remaining = 0
    for lead_id in failed:
        response = await client.delete(f"/api/leads/{lead_id}/")
        remaining += not (response.is_success or response.status_code == 404)
    return remaining


# -- machine and report ---------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(re.findall(r"^MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text(), re.M)[0])
    cores = len(os.sched_getaffinity(0))
    return {
        "cores": cores,
        "cpu": cpu,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def software() -> dict[str, str]:
    names = ("fastapi", "sqlalchemy", "uvicorn", "asyncpg", "aiosqlite", "httpx")
    return {name: version(name) for name in names}


def markdown_section(key: str, report: dict[str, Any]) -> str:
    m, data, load, server = report["machine"], report["data"], report["load"], report["server"]
    start_rss = total_rss(server["rss_after_start"])
    end_rss = total_rss(server["rss_end"])
    rss = ", ".join(f"{p['role']} {p['rss_mib']:.0f} MiB" for p in server["rss_end"])
    lines = [
        f"<!-- bench-results:{key}:start -->",
        f"### {report['database']['version']}, {server['workers']} worker"
        f"{'s' if server['workers'] != 1 else ''}, concurrency {load['concurrency']}"
        f"{' (' + report['label'] + ')' if report['label'] else ''}",
        "",
        f"- run: {report['date']}, `{report['command']}`",
        f"- machine: {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, "
        f"Linux {m['kernel']}, Python {m['python']}; server, database and load generator "
        f"share the machine ({report['machine_busy_before_percent']:.0f}% busy before the run)",
        f"- data (org `{ORG_NAME}`): {data['accounts']:,} accounts, {data['contacts']:,} "
        f"contacts, {data['leads']:,} leads, {data['opportunities']:,} opportunities, "
        f"{data['link_rows']:,} link rows",
        f"- load: {load['concurrency']} concurrent connection"
        f"{'s' if load['concurrency'] != 1 else ''}, {load['warmup_s']:g} s warm-up "
        f"then {load['duration_s']:g} s per scenario; client: bench/loadclient.py (one "
        "keep-alive connection per loop) on uvloop",
        f"- server RSS after start: {start_rss:.0f} MiB; at the end: {end_rss:.0f} MiB ({rss})",
        "",
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | requests "
        "| SQL per request: first / repeated | server RSS MiB: before / after "
        "| CPU %: client / server / database+rest | machine CPU % "
        "| CPU ms per request: server / database+rest |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in report["scenarios"]:
        verdict = ""
        if s["meets_target"] is not None:
            verdict = " (target met)" if s["meets_target"] else " **(target missed)**"
        lines.append(
            f"| {s['name']} | {s['req_per_s']:.1f} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f}"
            f"{verdict} | {s['p99_ms']:.1f} | {s['errors']} | {s['completed']:,} "
            f"| {s['sql_first']} / {s['sql_repeated']} "
            f"| {s['rss_before_mib']:.0f} / {s['rss_after_mib']:.0f} "
            f"| {s['client_cpu_percent']:.0f} / {s['server_cpu_percent']:.0f} / "
            f"{s['rest_cpu_percent']:.0f} | {s['machine_cpu_percent']:.0f} "
            f"| {s['server_cpu_ms_per_request']:.1f} / {s['rest_cpu_ms_per_request']:.1f} |"
        )
    for name in report.get("not_built", []):
        lines.append(f"| {name} | not built | | | | | | | | | | |")
    lines += ["", f"<!-- bench-results:{key}:end -->"]
    return "\n".join(lines)


def update_readme(readme: Path, key: str, section: str) -> None:
    """Replace this key's section, or add it at the end of the "## Results" section."""
    current = readme.read_text() if readme.exists() else "# Benchmarks\n"
    pattern = re.compile(
        rf"<!-- bench-results:{re.escape(key)}:start -->.*?<!-- bench-results:{re.escape(key)}:end -->",
        re.S,
    )
    if pattern.search(current):
        readme.write_text(pattern.sub(lambda _: section, current))
        return
    if "\n## Results\n" not in current:
        current = current.rstrip("\n") + "\n\n## Results\n"
    start = current.index("\n## Results\n") + len("\n## Results\n")
    following = current.find("\n## ", start)
    end = len(current) if following == -1 else following
    head, tail = current[:end].rstrip("\n"), current[end:]
    readme.write_text(f"{head}\n\n{section}\n{tail}")


# -- the command ----------------------------------------------------------------------------


async def background_load(seconds: float = 2.0) -> float:
    """Percent of the machine busy before the server starts: anything else running (a test
    suite, a build) competes for the same cores and shows up in the latencies."""
    before = machine_busy()
    await asyncio.sleep(seconds)
    after = machine_busy()
    return round(100 * (after[0] - before[0]) / max(after[1] - before[1], 1), 0)


async def benchmark(
    database_url: str,
    workers: int,
    concurrency: int,
    duration: float,
    warmup: float,
    lead_source: str,
    seed: int,
    only: list[str],
    deep_offset: int,
    log: IO[bytes],
    log_path: Path,
    data_dir: Path,
) -> dict[str, Any]:
    seeded = await read_seeded(database_url, seed)
    idle_check = await background_load()
    if idle_check > 10:
        console.print(
            f"[yellow]the machine is {idle_check:.0f}% busy before the run: results will be "
            "noisy[/yellow]"
        )
    run_id = uuid.uuid4().hex[:8]
    plan = [
        s for s in scenarios(seeded, lead_source, run_id, deep_offset) if not only or s.name in only
    ]
    created: list[str] = []
    results: list[Measurement] = []
    console.print("counting SQL statements per request (in-process) ...")
    (data_dir / "in-process").mkdir()
    sql_counts, paths = await count_statements(
        database_url, seeded.org_id, plan, data_dir / "in-process", created
    )
    not_built = [s.name for s in plan if not has_endpoint(s, paths)]
    plan = [s for s in plan if has_endpoint(s, paths)]
    for name in not_built:
        console.print(f"[yellow]{name}: not built (no {SEARCH_PATH} endpoint), skipped[/yellow]")
    with running_server(database_url, workers, data_dir, log) as (server, base_url):
        await wait_ready(base_url, server, log_path, workers, within=120)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
            await log_in(client, seeded.org_id)
            probe = await client.get(
                "/api/leads/", params={"status": "assigned", "source": lead_source, "limit": 1}
            )
            probe.raise_for_status()
            matching = int(probe.json()["leads_count"])
            rss_start = rss_of(process_tree(server.pid), server.pid)
            headers = {
                "Authorization": client.headers["Authorization"],
                "organization-id": client.headers["organization-id"],
            }
            connections = [Connection(base_url, headers) for _ in range(concurrency)]
            for scenario in plan:
                pids = process_tree(server.pid)
                rss_before = total_rss(rss_of(pids, server.pid))
                console.print(f"{scenario.name}: warm-up {warmup:g} s, measure {duration:g} s")
                await drive(connections, scenario, concurrency, warmup, pids, created)
                result = await drive(connections, scenario, concurrency, duration, pids, created)
                result.rss_before_mib = rss_before
                result.rss_after_mib = total_rss(rss_of(process_tree(server.pid), server.pid))
                result.sql_first, result.sql_repeated = sql_counts.get(scenario.name, (None, None))
                if result.is_list:
                    result.target_p95_ms = LIST_TARGET_P95_MS
                    result.meets_target = result.p95_ms < LIST_TARGET_P95_MS
                results.append(result)
                console.print(
                    f"  {result.req_per_s:.1f} req/s, p50 {result.p50_ms:.1f} ms, "
                    f"p95 {result.p95_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                    f"{result.errors} errors"
                )
            rss_end = rss_of(process_tree(server.pid), server.pid)
            for connection in connections:
                await connection.close()
            deleted_failures = await delete_created(client, created, concurrency)
        if server.poll() is not None:
            raise RuntimeError(f"the server exited during the run (code {server.returncode})")
    return {
        "database": {
            "backend": backend_of(database_url),
            "url": make_url(database_url).render_as_string(hide_password=True),
            "version": seeded.database_version,
        },
        "data": seeded.sizes,
        "machine_busy_before_percent": idle_check,
        "server": {
            "workers": workers,
            "rss_after_start": rss_start,
            "rss_end": rss_end,
            "created_leads_deleted": len(created) - deleted_failures,
        },
        "load": {
            "concurrency": concurrency,
            "duration_s": duration,
            "warmup_s": warmup,
            "lead_source": lead_source,
            "filtered_leads_matching": matching,
            "detail_ids": len(seeded.lead_ids),
            "deep_offset": deep_offset,
        },
        "scenarios": [asdict(r) for r in results],
        "not_built": not_built,
    }


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    database_url: Annotated[
        str,
        typer.Option(
            envvar="CRM_DATABASE_URL",
            help="The database seed.py filled (postgresql://... or sqlite:///...).",
        ),
    ],
    workers: Annotated[int, typer.Option(min=1, help="Server worker processes.")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 16,
    duration: Annotated[float, typer.Option(min=1, help="Seconds measured per scenario.")] = 15,
    warmup: Annotated[float, typer.Option(min=0, help="Seconds of discarded warm-up.")] = 2,
    lead_source: Annotated[
        str, typer.Option(help="Source of the filtered lead list (a seeded one).")
    ] = "Referral",
    seed: Annotated[int, typer.Option(help="Picks the lead ids of the detail scenario.")] = 42,
    scenario: Annotated[
        list[str] | None, typer.Option(help="Run only these scenarios (repeatable).")
    ] = None,
    deep_offset: Annotated[
        int, typer.Option(min=0, help="Offset of the deep-page scenario.")
    ] = 100_000,
    label: Annotated[
        str, typer.Option(help="Suffix of the result file and README section, e.g. c1.")
    ] = "",
    results_dir: Annotated[Path, typer.Option(help="Where the JSON goes.")] = BENCH_DIR / "results",
    readme: Annotated[Path, typer.Option(help="Markdown file whose table is replaced.")] = (
        BENCH_DIR / "README.md"
    ),
    update_readme_table: Annotated[
        bool,
        typer.Option(
            "--update-readme/--no-update-readme",
            help="Also replace this run's section of --readme.",
        ),
    ] = True,
) -> None:
    """Start `crm serve` on the seeded database and run the load scenarios against it."""
    backend = backend_of(database_url)
    started = datetime.now(UTC)
    key = f"{backend}-{label}" if label else backend
    with tempfile.TemporaryDirectory(prefix="crm-bench-run-") as tmp:
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:
            try:
                uvloop.install()
                measured = asyncio.run(
                    benchmark(
                        database_url,
                        workers,
                        concurrency,
                        duration,
                        warmup,
                        lead_source,
                        seed,
                        scenario or [],
                        deep_offset,
                        log,
                        log_path,
                        Path(tmp),
                    )
                )
            except Exception:
                log.flush()
                tail = log_path.read_text(errors="replace").splitlines()[-30:]
                console.print("server log (last lines):\n" + "\n".join(tail), markup=False)
                raise
    command = f"bench/run.py --database-url {measured['database']['url']} --workers {workers}"
    for option, value, default in (
        ("--concurrency", concurrency, 16),
        ("--duration", duration, 15),
        ("--warmup", warmup, 2),
        ("--deep-offset", deep_offset, 100_000),
    ):
        if value != default:
            command += f" {option} {value:g}"
    for name in scenario or []:
        command += f" --scenario {name}"
    if label:
        command += f" --label {label}"
    report = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "label": label,
        "command": command,
        "machine": machine(),
        "software": software(),
        **measured,
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / f"{started:%Y-%m-%d}-{key}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    section = markdown_section(key, report)
    table_file = out.with_suffix(".md")
    table_file.write_text(f"# Benchmark {started:%Y-%m-%d} {key}\n\n{section}\n")
    if update_readme_table:
        update_readme(readme, key, section)

    table = RichTable(title=f"{report['database']['version']}, {workers} worker(s)")
    columns = ("scenario", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "SQL/req", "RSS MiB")
    for column in columns:
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for s in report["scenarios"]:
        table.add_row(
            s["name"],
            f"{s['req_per_s']:.1f}",
            f"{s['p50_ms']:.1f}",
            f"{s['p95_ms']:.1f}",
            f"{s['p99_ms']:.1f}",
            str(s["errors"]),
            f"{s['sql_first']} / {s['sql_repeated']}",
            f"{s['rss_before_mib']:.0f} -> {s['rss_after_mib']:.0f}",
        )
    for name in report["not_built"]:
        table.add_row(name, "not built", "", "", "", "", "", "")
    console.print(table)
    for name in report["not_built"]:
        console.print(f"{name}: not built")
    written = f"wrote {out} and {table_file}"
    if update_readme_table:
        written += f" and the {key!r} section of {readme}"
    console.print(written)


if __name__ == "__main__":
    app()
