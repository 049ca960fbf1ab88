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
import csv
import itertools
import json
import math
import os
import pickle
import platform
import random
import re
import signal
import socket
import subprocess
import sys
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
from urllib.parse import urlencode

import httpx
import typer
import uvloop
from floor import STATEMENTS_ENV
from loadclient import Connection, HttpError
from rich.console import Console
from rich.table import Table as RichTable
from seed import COMPANY_WORDS, FIRST_NAMES, LAST_NAMES
from seeded_org import ADMIN_EMAIL, ANCHOR, ORG_NAME, PASSWORD, SECRET_KEY, backend_of, crm_command
from sqlalchemy import Table, delete, event, func, select, text
from sqlalchemy.engine import make_url

from crm.app import create_app
from crm.core.config import Settings
from crm.core.db import create_engine
from crm.core.pagination import SPLIT_HALVES, CursorSigner
from crm.models import Account, Contact, Lead, Opportunity, Org
from crm.models.record_counts import fold

BENCH_DIR = Path(__file__).resolve().parent
# Issue 7's p95 targets on PostgreSQL (1M leads, 2 workers, concurrency 16), per scenario.
FLOOR_SCENARIO = "list_leads_filtered"
LIST_TARGET_P95_MS = 30.0  # list endpoints: first page, filters, forecast totals, cursor pages
DETAIL_TARGET_P95_MS = 15.0
WRITE_TARGET_P95_MS = 25.0
SEARCH_TARGET_P95_MS = 50.0
IMPORT_ROWS = 100_000
IMPORT_TARGET_SECONDS = 30.0
IMPORT_TARGET_RSS_GROWTH_MIB = 150.0
FLOOR_RATIO_TARGET = 3.0
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
    target_p95_ms: float | None = None


SEARCH_PATH = "/api/search/"


def search_terms(seed: int) -> list[str]:
    """What the search scenario asks, drawn with the seed from the names the data set uses:
    full names (hundreds of hits among a million leads), last names and company words
    (tens of thousands: the work must stay bounded), a prefix, an e-mail fragment."""
    rng = random.Random(seed)  # noqa: S311 - sampling
    terms: list[str] = []
    for _ in range(10):
        terms.append(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
        terms.append(rng.choice(LAST_NAMES))
        terms.append(rng.choice(COMPANY_WORDS).split()[0])
        terms.append(rng.choice(LAST_NAMES)[:4].lower())
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        terms.append(f"{first}.{last}.{rng.randrange(1000)}".lower())
    return terms


def scenarios(
    seeded: SeededData,
    lead_source: str,
    run_id: str,
    deep_offset: int,
    deep_cursor: str | None,
    seed: int,
) -> list[Scenario]:
    """The issue's scenarios; the writes last, as they change what the lists show."""
    detail_ids = itertools.cycle(seeded.lead_ids)
    account_ids = itertools.cycle(seeded.account_ids)
    opportunity_ids = itertools.cycle(seeded.opportunity_ids)
    terms = itertools.cycle(search_terms(seed))
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

    def search() -> Request:
        return "GET", f"{SEARCH_PATH}?{urlencode({'q': next(terms)})}", None

    def get(path: str) -> Callable[[], Request]:
        return lambda: ("GET", path, None)

    plan = [
        Scenario(
            "list_accounts",
            "`GET /api/accounts/?limit=10`: open and closed halves, each counted and paged, "
            "plus the contact, member, team and tag lookups",
            True,
            get("/api/accounts/?limit=10"),
            LIST_TARGET_P95_MS,
        ),
        Scenario(
            "list_accounts_100",
            "`GET /api/accounts/?limit=100`: as `list_accounts`, 100 rows per half",
            True,
            get("/api/accounts/?limit=100"),
            LIST_TARGET_P95_MS,
        ),
        Scenario(
            "list_leads_filtered",
            f"`GET /api/leads/?status=assigned&source={source}&limit=10`: two filters; "
            "the open half, counted and paged, plus the lookups",
            True,
            get(f"/api/leads/?status=assigned&source={source}&limit=10"),
            LIST_TARGET_P95_MS,
        ),
        Scenario(
            "leads_deep_page",
            f"`GET /api/leads/?offset={deep_offset}&limit=10`: a deep page by offset (kept for "
            "compatibility; both halves counted, the page empty where a half is shorter)",
            True,
            get(f"/api/leads/?offset={deep_offset}&limit=10"),
        ),
    ]
    if deep_cursor is not None:
        plan.append(
            Scenario(
                "leads_deep_cursor",
                f"`GET /api/leads/?cursor=<token>&limit=10`: the page after the "
                f"{deep_offset:,}th open lead, through the keyset cursor",
                True,
                get(f"/api/leads/?{urlencode({'cursor': deep_cursor, 'limit': 10})}"),
                LIST_TARGET_P95_MS,
            )
        )
    plan += [
        Scenario(
            "lead_detail",
            f"`GET /api/leads/<id>/`, rotating over {len(seeded.lead_ids):,} seeded lead ids "
            "drawn with the seed (about 12% converted: their account, contact and "
            "opportunity load too)",
            False,
            lambda: ("GET", f"/api/leads/{next(detail_ids)}/", None),
            DETAIL_TARGET_P95_MS,
        ),
        Scenario(
            "account_detail",
            f"`GET /api/accounts/<id>/`, rotating over {len(seeded.account_ids):,} seeded "
            "account ids: the account with its related contacts, opportunities, cases, "
            "tasks, invoices and the lookups",
            False,
            lambda: ("GET", f"/api/accounts/{next(account_ids)}/", None),
            DETAIL_TARGET_P95_MS,
        ),
        Scenario(
            "list_opportunities",
            "`GET /api/opportunities/?limit=10`: count, page, per-currency forecast totals of "
            "the whole set, and the account, contact, member and team lookups",
            True,
            get("/api/opportunities/?limit=10"),
            LIST_TARGET_P95_MS,
        ),
        Scenario(
            "erp_opportunity_list",
            "`GET /api/crm/opportunity?limit=20`: the ERPNext-style list (count and page)",
            True,
            get("/api/crm/opportunity?limit=20"),
            LIST_TARGET_P95_MS,
        ),
        Scenario(
            "dashboard",
            "`GET /api/dashboard/`: the counts and recent records of the dashboard",
            False,
            get("/api/dashboard/"),
            LIST_TARGET_P95_MS,
        ),
        Scenario(
            "search",
            f"`GET {SEARCH_PATH}?q=<term>`, rotating over 50 terms drawn with the seed from "
            "the data set's names: full names, last names, company words, 4-letter prefixes, "
            "e-mail fragments",
            False,
            search,
            SEARCH_TARGET_P95_MS,
        ),
        Scenario(
            "update_opportunity",
            f"`PATCH /api/opportunities/<id>/` of the description, rotating over "
            f"{len(seeded.opportunity_ids):,} seeded opportunity ids (their descriptions "
            "stay changed)",
            False,
            update_opportunity,
            WRITE_TARGET_P95_MS,
        ),
        Scenario(
            "create_lead",
            "`POST /api/leads/` with a unique lead (names, e-mail, source, city, amount); "
            "the leads are deleted again after the run",
            False,
            new_lead,
            WRITE_TARGET_P95_MS,
        ),
    ]
    return plan


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


async def find_deep_cursor(
    database_url: str, org_id: uuid.UUID, deep_offset: int, data_dir: Path
) -> str | None:
    """The cursor of the open-leads page that starts after the first ``deep_offset`` open
    leads (what ``?offset=<deep_offset>`` shows), signed as the server signs it (same secret
    key). None when the org has fewer open leads."""
    if deep_offset < 1:
        return None
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY, data_dir=data_dir)
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(Lead.created_on, Lead.id)
                    .where(Lead.org_id == org_id, Lead.status.not_in(("closed", "converted")))
                    .order_by(Lead.created_on.desc(), Lead.id.desc())
                    .offset(deep_offset - 1)
                    .limit(1)
                )
            ).first()
    finally:
        await engine.dispose()
    if row is None:
        return None
    signer = CursorSigner.of(settings, "/api/leads/", SPLIT_HALVES)
    return signer.encode((row[0], row[1]), "open")


# -- SQL statements per request -------------------------------------------------------------


async def count_statements(
    database_url: str, org_id: uuid.UUID, plan: list[Scenario], data_dir: Path, created: list[str]
) -> tuple[dict[str, tuple[int, int]], set[str], list[tuple[str, Any]]]:
    """Run the application in-process (no server, no load) and count the SQL statements two
    consecutive requests of each scenario issue: the first on a fresh app, the second with
    its caches warm (as the load mostly sees them). Also returns the API's paths, to tell
    which scenarios have an endpoint, and the statements (with their parameters) of the first
    ``FLOOR_SCENARIO`` request, which the floor replays. Created leads are added to
    ``created``."""
    settings = Settings(
        database_url=database_url, secret_key=SECRET_KEY, data_dir=data_dir, log_level="WARNING"
    )
    app = create_app(settings)
    paths = set(app.openapi()["paths"])
    engine = app.state.database.engine
    statements = [0]
    captured: list[tuple[str, Any]] = []
    capturing = [False]

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        statements[0] += 1
        if capturing[0]:
            captured.append((sql, parameters))

    counts: dict[str, tuple[int, int]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await log_in(client, org_id)
            for scenario in plan:
                if not has_endpoint(scenario, paths):
                    continue
                pair = []
                for attempt in range(2):
                    method, path, body = scenario.next_request()
                    statements[0] = 0
                    capturing[0] = attempt == 0 and scenario.name == FLOOR_SCENARIO
                    response = await client.request(method, path, json=body)
                    capturing[0] = False
                    pair.append(statements[0])
                    if response.is_success and method == "POST":
                        created.append(response.json()["id"])
                counts[scenario.name] = (pair[0], pair[1])
    return counts, paths, captured


def has_endpoint(scenario: Scenario, paths: set[str]) -> bool:
    """Whether the API has the route the scenario requests (a checkout before issue 7's
    search has none)."""
    return scenario.name != "search" or SEARCH_PATH in paths


# -- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after 20 s."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


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
        stop(server)


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


@contextmanager
def running_floor(
    database_url: str, workers: int, data_dir: Path, statements: Path, log: IO[bytes]
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """bench/floor.py under the same uvicorn settings as ``crm serve`` (workers, uvloop,
    httptools), on a free port; stopped on exit."""
    port = free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": database_url,
        "CRM_DATA_DIR": str(data_dir),
        "CRM_SECRET_KEY": SECRET_KEY,
        STATEMENTS_ENV: str(statements),
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "floor:create_floor",
        "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        stop(server)


async def wait_answering(base_url: str, server: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.perf_counter() + within
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        while time.perf_counter() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the floor exited with code {server.returncode}")
            try:
                if (await client.get("/")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"the floor did not answer within {within:.0f} s")


async def measure_floor(
    database_url: str,
    workers: int,
    concurrency: int,
    duration: float,
    warmup: float,
    statements: list[tuple[str, Any]],
    data_dir: Path,
    log: IO[bytes],
) -> Measurement:
    """The floor's latency for the list-leads scenario, under the same load."""
    path = data_dir / "floor-statements.pickle"
    path.write_bytes(pickle.dumps(statements))
    with running_floor(database_url, workers, data_dir, path, log) as (server, base_url):
        await wait_answering(base_url, server, within=120)
        # Every worker must be up before measuring: give them the start-up the API gets.
        await asyncio.sleep(3)
        connections = [Connection(base_url, {}) for _ in range(concurrency)]
        floor = Scenario(
            f"floor_{FLOOR_SCENARIO}",
            f"bench/floor.py: the {len(statements)} SQL statements of one uncached "
            f"`{FLOOR_SCENARIO}` request, one transaction, rows to JSON with pydantic-core; "
            "no routing, middleware, auth, ORM or validation",
            True,
            lambda: ("GET", "/", None),
        )
        pids = process_tree(server.pid)
        await drive(connections, floor, concurrency, warmup, pids, [])
        result = await drive(connections, floor, concurrency, duration, pids, [])
        result.sql_first = result.sql_repeated = len(statements)
        for connection in connections:
            await connection.close()
    return result


# -- the import -----------------------------------------------------------------------------


def import_file(path: Path, rows: int, run_id: str) -> None:
    """A lead CSV of ``rows`` unique leads, in the import's columns."""
    with path.open("w", newline="") as target:
        out = csv.writer(target)
        out.writerow(["first_name", "last_name", "email", "phone", "title", "source", "city"])
        for n in range(rows):
            out.writerow(
                [
                    FIRST_NAMES[n % len(FIRST_NAMES)],
                    f"Import {n}",
                    f"import.{run_id}.{n}@example.org",
                    "+14155550100",
                    "Imported lead",
                    "Trade Show",
                    "Lisbon",
                ]
            )


async def measure_import(
    client: httpx.AsyncClient,
    rows: int,
    run_id: str,
    data_dir: Path,
    server: subprocess.Popen[bytes],
) -> dict[str, Any]:
    """Upload a ``rows``-row CSV and follow its job to the end: seconds from the upload to
    the job's end, and the server's RSS (sampled every 0.2 s) above what it was before."""
    path = data_dir / "import.csv"
    import_file(path, rows, run_id)
    pids = process_tree(server.pid)
    before = {row["pid"]: row["rss_mib"] for row in rss_of(pids, server.pid)}
    peak = dict(before)
    began = time.perf_counter()
    with path.open("rb") as source:
        response = await client.post(
            "/api/leads/upload/", files={"leads_file": ("leads.csv", source, "text/csv")}
        )
    if response.status_code not in (200, 202):
        raise RuntimeError(f"import refused: {response.status_code} {response.text[:300]}")
    job = response.json()
    while job.get("status") in ("pending", "running"):
        for row in rss_of(process_tree(server.pid), server.pid):
            peak[row["pid"]] = max(peak.get(row["pid"], 0.0), row["rss_mib"])
        await asyncio.sleep(0.2)
        job = (await client.get(job["status_url"])).json()
    seconds = time.perf_counter() - began
    growth = {pid: round(peak[pid] - before.get(pid, 0.0), 1) for pid in peak}
    return {
        "rows": rows,
        "file_mib": round(path.stat().st_size / 2**20, 1),
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "status": job.get("status"),
        "imported": job.get("imported_count"),
        "failed": job.get("failed_count"),
        "rss_before_mib": total_rss([{"rss_mib": v} for v in before.values()]),
        "rss_peak_mib": total_rss([{"rss_mib": v} for v in peak.values()]),
        "rss_growth_max_process_mib": max(growth.values(), default=0.0),
        "target_seconds": IMPORT_TARGET_SECONDS,
        "target_rss_growth_mib": IMPORT_TARGET_RSS_GROWTH_MIB,
        "meets_target": seconds < IMPORT_TARGET_SECONDS
        and max(growth.values(), default=0.0) < IMPORT_TARGET_RSS_GROWTH_MIB,
    }


async def delete_imported(database_url: str, org_id: uuid.UUID, run_id: str) -> int:
    """The imported leads go again (straight in SQL: the benchmark owns its database)."""
    engine = create_engine(Settings(database_url=database_url, secret_key=SECRET_KEY))
    try:
        async with engine.begin() as conn:
            result = await conn.execute(
                delete(Lead).where(
                    Lead.org_id == org_id, Lead.email.like(f"import.{run_id}.%@example.org")
                )
            )
            await conn.run_sync(fold, org_id)  # the -1 row the trigger appended per lead
            return int(result.rowcount or 0)
    finally:
        await engine.dispose()


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
    floor = report.get("floor")
    if floor:
        lines.append(
            f"| {floor['name']} | {floor['req_per_s']:.1f} | {floor['p50_ms']:.1f} "
            f"| {floor['p95_ms']:.1f} | {floor['p99_ms']:.1f} | {floor['errors']} "
            f"| {floor['completed']:,} | {floor['sql_first']} | | "
            f"{floor['client_cpu_percent']:.0f} / {floor['server_cpu_percent']:.0f} / "
            f"{floor['rest_cpu_percent']:.0f} | {floor['machine_cpu_percent']:.0f} "
            f"| {floor['server_cpu_ms_per_request']:.1f} / {floor['rest_cpu_ms_per_request']:.1f} |"
        )
    lines.append("")
    if floor:
        verdict = "target met" if floor["meets_target"] else "**target missed**"
        lines.append(
            f"- overhead over the floor ({FLOOR_SCENARIO}): p50 {floor['ratio_p50']:.2f}x, "
            f"p95 {floor['ratio_p95']:.2f}x, throughput {floor['ratio_req_per_s']:.2f}x "
            f"(target: p50 and p95 at most {floor['target_ratio']:g}x; {verdict})"
        )
    imported = report.get("import")
    if imported:
        verdict = "targets met" if imported["meets_target"] else "**target missed**"
        lines.append(
            f"- import of a {imported['rows']:,}-row CSV ({imported['file_mib']:.1f} MiB) "
            f"through `/api/leads/upload/`: {imported['seconds']:.1f} s "
            f"({imported['rows_per_s']:,} rows/s), {imported['imported']:,} imported, "
            f"{imported['failed']} failed; server RSS growth (largest process) "
            f"{imported['rss_growth_max_process_mib']:.0f} MiB (targets: < "
            f"{imported['target_seconds']:g} s, < {imported['target_rss_growth_mib']:g} MiB; "
            f"{verdict})"
        )
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
    import_rows: int,
    with_floor: bool,
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
    deep_cursor = await find_deep_cursor(database_url, seeded.org_id, deep_offset, data_dir)
    plan = [
        s
        for s in scenarios(seeded, lead_source, run_id, deep_offset, deep_cursor, seed)
        if not only or s.name in only
    ]
    created: list[str] = []
    results: list[Measurement] = []
    console.print("counting SQL statements per request (in-process) ...")
    (data_dir / "in-process").mkdir()
    sql_counts, paths, floor_statements = await count_statements(
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
                if scenario.target_p95_ms is not None:
                    result.target_p95_ms = scenario.target_p95_ms
                    result.meets_target = result.p95_ms < scenario.target_p95_ms
                results.append(result)
                console.print(
                    f"  {result.req_per_s:.1f} req/s, p50 {result.p50_ms:.1f} ms, "
                    f"p95 {result.p95_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                    f"{result.errors} errors"
                )
            imported: dict[str, Any] | None = None
            if import_rows and (not only or "import" in only):
                console.print(f"import: a {import_rows:,}-row CSV through /api/leads/upload/")
                imported = await measure_import(client, import_rows, run_id, data_dir, server)
                console.print(
                    f"  {imported['seconds']:.1f} s ({imported['rows_per_s']:,} rows/s), "
                    f"RSS growth {imported['rss_growth_max_process_mib']:.0f} MiB, "
                    f"{imported['status']}"
                )
            rss_end = rss_of(process_tree(server.pid), server.pid)
            for connection in connections:
                await connection.close()
            deleted_failures = await delete_created(client, created, concurrency)
        if server.poll() is not None:
            raise RuntimeError(f"the server exited during the run (code {server.returncode})")
    if imported is not None:
        imported["deleted_after"] = await delete_imported(database_url, seeded.org_id, run_id)
    floor: dict[str, Any] | None = None
    ours = next((r for r in results if r.name == FLOOR_SCENARIO), None)
    if with_floor and floor_statements and ours is not None:
        console.print(f"floor: {FLOOR_SCENARIO}'s SQL through bench/floor.py")
        measured_floor = await measure_floor(
            database_url, workers, concurrency, duration, warmup, floor_statements, data_dir, log
        )
        console.print(
            f"  {measured_floor.req_per_s:.1f} req/s, p50 {measured_floor.p50_ms:.1f} ms, "
            f"p95 {measured_floor.p95_ms:.1f} ms"
        )
        floor = {
            **asdict(measured_floor),
            "ratio_p50": round(ours.p50_ms / measured_floor.p50_ms, 2),
            "ratio_p95": round(ours.p95_ms / measured_floor.p95_ms, 2),
            "ratio_req_per_s": round(measured_floor.req_per_s / ours.req_per_s, 2),
            "target_ratio": FLOOR_RATIO_TARGET,
        }
        floor["meets_target"] = max(floor["ratio_p50"], floor["ratio_p95"]) <= FLOOR_RATIO_TARGET
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
        "floor": floor,
        "import": imported,
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
    import_rows: Annotated[
        int,
        typer.Option(min=0, help="Rows of the CSV import measured after the scenarios (0: none)."),
    ] = IMPORT_ROWS,
    with_floor: Annotated[
        bool,
        typer.Option(
            "--floor/--no-floor", help="Also measure bench/floor.py for the overhead ratio."
        ),
    ] = True,
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
                        import_rows,
                        with_floor,
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
        ("--import-rows", import_rows, IMPORT_ROWS),
    ):
        if value != default:
            command += f" {option} {value:g}"
    if not with_floor:
        command += " --no-floor"
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
