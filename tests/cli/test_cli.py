"""The ``crm`` command, run in-process on a SQLite file in a temp dir, or on a new database
of the ``CRM_TEST_DATABASE_URL`` PostgreSQL server when that is set.

Commands call ``asyncio.run`` themselves, so async tests invoke them in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from click.testing import Result
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from crm.app import create_app
from crm.cli import app as cli_app
from crm.core.config import Settings, get_settings
from crm.core.migrations import head_revision
from crm.core.ratelimit import MemoryCounter

runner = CliRunner()


@pytest.fixture
def cli_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database for one test: a SQLite file, or a new PostgreSQL database (dropped
    afterwards) when ``CRM_TEST_DATABASE_URL`` names a PostgreSQL server."""
    raw = os.environ.get("CRM_TEST_DATABASE_URL", "").strip()
    if not raw or raw.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        return
    server = make_url(raw)
    name = f"crm_cli_{os.getpid()}_{secrets.token_hex(4)}"
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def cli_settings(
    tmp_path: Path, cli_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    for name in list(os.environ):
        if name.startswith("CRM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CRM_DATABASE_URL", cli_database_url)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def invoke(*args: str) -> Result:
    return runner.invoke(cli_app, list(args), catch_exceptions=False)


async def invoke_async(*args: str) -> Result:
    return await asyncio.to_thread(invoke, *args)


def values(output: str) -> dict[str, str]:
    """The ``key=value`` lines a command prints for scripts."""
    return dict(re.findall(r"^(\w+)=(\S+)$", output, flags=re.MULTILINE))


@asynccontextmanager
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, counter=MemoryCounter())
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await app.state.database.dispose()


def test_db_upgrade_then_current_shows_head(cli_settings: Settings) -> None:
    head = head_revision(cli_settings.effective_database_url)
    assert head

    before = invoke("db", "current")
    assert before.exit_code == 0, before.output
    assert values(before.output) == {"current": "none", "head": head}

    upgraded = invoke("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    after = invoke("db", "current")
    assert after.exit_code == 0, after.output
    assert values(after.output) == {"current": head, "head": head}


def test_db_check_passes_on_a_migrated_database(cli_settings: Settings) -> None:
    assert invoke("db", "upgrade").exit_code == 0
    result = invoke("db", "check")
    assert result.exit_code == 0, result.output
    assert "models and migrations match" in result.output


def test_db_check_fails_clearly_on_an_unmigrated_database(cli_settings: Settings) -> None:
    result = invoke("db", "check")
    assert result.exit_code == 1
    assert "crm db upgrade" in result.output


async def test_bootstrap_prints_a_token_that_works(cli_settings: Settings) -> None:
    result = await invoke_async(
        "bootstrap", "--email", "Owner@Example.com", "--password", "correct horse battery",
        "--org", "Bootstrapped", "--first-name", "Olive",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = values(result.output)
    assert {"org_id", "profile_id", "access_token", "refresh_token"} <= printed.keys()

    async with api(cli_settings) as client:
        response = await client.get(
            "/api/profile/",
            headers={
                "Authorization": f"Bearer {printed['access_token']}",
                "organization-id": printed["org_id"],
            },
        )
    assert response.status_code == 200, response.text
    profile = response.json()["user_obj"]
    assert profile["id"] == printed["profile_id"]
    assert profile["email"] == "owner@example.com"
    assert profile["first_name"] == "Olive"
    assert profile["role"] == "ADMIN"


async def test_bootstrap_reuses_a_user_only_with_their_password(cli_settings: Settings) -> None:
    first = await invoke_async(
        "bootstrap", "--email", "a@example.com", "--password", "password-one", "--org", "First"
    )
    assert first.exit_code == 0, first.output

    refused = await invoke_async(
        "bootstrap", "--email", "a@example.com", "--password", "password-two", "--org", "Second"
    )
    assert refused.exit_code == 1
    assert "already exists" in refused.output
    assert "access_token=" not in refused.output

    reused = await invoke_async(
        "bootstrap", "--email", "a@example.com", "--password", "password-one", "--org", "Third"
    )
    assert reused.exit_code == 0, reused.output

    async with api(cli_settings) as client:
        login = await client.post(
            "/api/auth/login/", json={"email": "a@example.com", "password": "password-one"}
        )
        assert login.status_code == 200, login.text
        orgs = await client.get(
            "/api/org/", headers={"Authorization": f"Bearer {login.json()['access']}"}
        )
    assert orgs.status_code == 200, orgs.text
    names = sorted(m["org"]["name"] for m in orgs.json()["profile_org_list"])
    assert names == ["First", "Third"]  # the refused run left nothing behind


async def test_bootstrap_refuses_a_taken_org_name(cli_settings: Settings) -> None:
    ok = await invoke_async(
        "bootstrap", "--email", "a@example.com", "--password", "password-one", "--org", "Taken"
    )
    assert ok.exit_code == 0, ok.output
    again = await invoke_async(
        "bootstrap", "--email", "b@example.com", "--password", "password-two", "--org", "Taken"
    )
    assert again.exit_code == 1
    assert "already exists" in again.output

    async with api(cli_settings) as client:
        login = await client.post(
            "/api/auth/login/", json={"email": "b@example.com", "password": "password-two"}
        )
    assert login.status_code == 400, "the user of a refused bootstrap must not be created"


async def test_demo_loads_once(cli_settings: Settings) -> None:
    password = "demo-password-123"
    first = await invoke_async("demo", "--password", password)
    assert first.exit_code == 0, first.output
    org_id = values(first.output)["org_id"]
    assert values(first.output)["password"] == password

    second = await invoke_async("demo", "--password", password)
    assert second.exit_code == 0, second.output
    assert "already loaded" in second.output

    async with api(cli_settings) as client:
        login = await client.post(
            "/api/auth/login/", json={"email": "demo-admin@example.com", "password": password}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access']}", "organization-id": org_id}
        orgs = await client.get("/api/org/", headers=headers)
        users = await client.get("/api/users/", headers=headers)
        teams = await client.get("/api/teams/", headers=headers)
        api_settings = await client.get("/api/api-settings/", headers=headers)
        member_login = await client.post(
            "/api/auth/login/", json={"email": "sam.sales@example.com", "password": password}
        )

    assert [m["org"]["id"] for m in orgs.json()["profile_org_list"]] == [org_id]
    assert users.status_code == 200, users.text
    active = users.json()["active_users"]
    assert active["active_users_count"] == 5
    assert sorted(u["role"] for u in active["active_users"]) == ["ADMIN"] * 2 + ["USER"] * 3
    assert teams.status_code == 200, teams.text
    assert teams.json()["count"] == 2
    assert all(len(team["users"]) == 2 for team in teams.json()["results"])
    assert api_settings.status_code == 200, api_settings.text
    (setting,) = api_settings.json()["api_settings"]
    assert sorted(setting["tags"]) == ["inbound", "website"]
    assert [m["email"] for m in setting["lead_assigned_to"]] == ["sam.sales@example.com"]
    assert member_login.status_code == 200, member_login.text


Headers = dict[str, str]


async def _login(client: httpx.AsyncClient, email: str, password: str, org_id: str) -> Headers:
    login = await client.post("/api/auth/login/", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access']}", "organization-id": org_id}


async def _get(client: httpx.AsyncClient, path: str, headers: Headers) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _counts(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {
        "accounts": (dashboard["accounts"]["open_accounts"], dashboard["accounts"]["closed_accounts"]),
        "contacts": dashboard["contacts_count"],
        "leads": (dashboard["leads"]["open_leads"], dashboard["leads"]["closed_leads"]),
        "opportunities": dashboard["opportunities_count"],
    }  # fmt: skip


def _forecast(page: dict[str, Any]) -> dict[str, tuple[int, str, str]]:
    return {
        f["currency"]: (f["count"], f["amount"], f["weighted_amount"]) for f in page["forecast"]
    }


CONVERTED_LEADS = {"helen.park@lakeside-dental.example", "lukas.brandt@brandt-brauerei.example"}


async def test_demo_sales_data_as_the_admin_and_as_a_salesperson(cli_settings: Settings) -> None:
    password = "demo-password-123"
    loaded = await invoke_async("demo", "--password", password)
    assert loaded.exit_code == 0, loaded.output
    assert (
        "10 accounts, 15 contacts, 3 lead companies, 20 leads (2 converted), "
        "10 opportunities, 7 comments, 4 cases, 5 tasks, 4 events, 4 invoices" in loaded.output
    )
    org_id = values(loaded.output)["org_id"]

    async with api(cli_settings) as client:
        admin = await _login(client, "demo-admin@example.com", password, org_id)
        sam = await _login(client, "sam.sales@example.com", password, org_id)
        admin_dashboard = await _get(client, "/api/dashboard/", admin)
        sam_dashboard = await _get(client, "/api/dashboard/", sam)
        admin_leads = await _get(client, "/api/leads/?limit=50", admin)
        sam_leads = await _get(client, "/api/leads/?limit=50", sam)
        admin_deals = await _get(client, "/api/opportunities/", admin)
        sam_deals = await _get(client, "/api/opportunities/", sam)
        accounts = await _get(client, "/api/accounts/?limit=50", admin)
        converted = next(
            a for a in accounts["open_accounts"] if a["name"] == "Lakeside Dental Group"
        )
        account = await _get(client, f"/api/accounts/{converted['id']}/", admin)
        lead = await _get(client, f"/api/leads/{converted['lead']}/", sam)

        again = await invoke_async("demo", "--password", password)
        assert again.exit_code == 0, again.output
        assert "already loaded" in again.output
        after = await _get(client, "/api/dashboard/", admin)

    # The admin sees the whole org: 8 accounts made directly (2 closed) and 2 by conversions,
    # 13 + 2 contacts, 14 open and 4 closed leads (converted ones are not counted), 8 + 2 deals.
    assert _counts(admin_dashboard) == {
        "accounts": (8, 2), "contacts": 15, "leads": (14, 4), "opportunities": 10,
    }  # fmt: skip
    stages = {row["stage"]: row["count"] for row in admin_dashboard["opportunities"]["by_stage"]}
    assert stages == {
        "QUALIFICATION": 1, "NEEDS ANALYSIS": 1, "VALUE PROPOSITION": 1, "ID.DECISION MAKERS": 1,
        "PERCEPTION ANALYSIS": 1, "PROPOSAL/QUOTATION": 1, "NEGOTIATION/REVIEW": 1,
        "CLOSED WON": 2, "CLOSED LOST": 1,
    }  # fmt: skip
    # Sam, a USER, sees what he created or is assigned to (and the contacts of his accounts).
    assert _counts(sam_dashboard) == {
        "accounts": (4, 0), "contacts": 7, "leads": (5, 1), "opportunities": 5,
    }  # fmt: skip

    # Converted leads are in neither half of the lead list.
    for page, open_count, closed_count in ((admin_leads, 14, 4), (sam_leads, 5, 1)):
        assert (page["open_leads_count"], page["closed_leads_count"]) == (open_count, closed_count)
        listed = {item["email"] for item in page["open_leads"] + page["closed_leads"]}
        assert len(listed) == open_count + closed_count
        assert not listed & CONVERTED_LEADS
        assert {item["status"] for item in page["open_leads"]} <= {
            "assigned",
            "in process",
            "recycled",
        }

    # The forecast never mixes currencies: amount and amount x probability, per currency.
    assert _forecast(admin_deals) == {
        "EUR": (6, "259550.00", "116845.00"),
        "USD": (4, "252500.00", "174400.00"),
    }
    assert _forecast(sam_deals) == {
        "EUR": (2, "55050.00", "23295.00"),
        "USD": (3, "126000.00", "73200.00"),
    }

    # A conversion made the account, contact and opportunity, and moved the lead's comment.
    assert lead["lead_obj"]["status"] == "converted"
    assert lead["converted_account"]["id"] == converted["id"]
    assert lead["converted_contact"]["primary_email"] == "helen.park@lakeside-dental.example"
    assert lead["converted_opportunity"]["stage"] == "NEEDS ANALYSIS"
    assert [c["commented_by_email"] for c in account["comments"]] == ["sam.sales@example.com"]
    assert [c["email"] for c in account["assigned_to"]] == ["sam.sales@example.com"]

    assert after == admin_dashboard  # the second run changed nothing


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_migrates_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env["CRM_DATA_DIR"] = str(tmp_path / "var")
    command = [
        sys.executable,
        "-c",
        "from crm.cli import main; main()",
        "serve",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60  # start-up is seconds; a loaded CI box is slower
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            if status == 200:
                break
        assert status == 200, f"server did not answer; exit code {server.poll()}"
        assert (tmp_path / "var" / "crm.sqlite3").is_file()
        assert (tmp_path / "var" / "secret_key").is_file()
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert server.returncode is not None, output


async def test_import_leads_shows_progress_and_reports_rows(
    cli_settings: Settings, tmp_path: Path
) -> None:
    booted = await invoke_async(
        "bootstrap", "--email", "importer@example.com", "--password", "correct horse battery", "--org", "Importers"
    )  # fmt: skip
    assert booted.exit_code == 0, booted.output
    org_id = values(booted.output)["org_id"]
    file = tmp_path / "leads.csv"
    file.write_text(
        "First Name,Last Name,Email\nAda,Lovelace,ada@example.com\nAlan,Turing,\nBad,,nope\n"
    )

    result = await invoke_async("import", "leads", str(file), "--org", org_id)
    assert result.exit_code == 0, result.output
    assert "importing leads.csv" in result.output
    assert "2 imported, 1 failed of 3 rows (done)" in result.output
    assert "row 3:" in result.output

    async with api(cli_settings) as client:
        token = values(booted.output)["access_token"]
        listed = await client.get(
            "/api/leads/", headers={"Authorization": f"Bearer {token}", "organization-id": org_id}
        )
    assert listed.status_code == 200, listed.text
    assert listed.json()["open_leads_count"] == 2

    refused = await invoke_async("import", "leads", str(file), "--org", "not-an-id")
    assert refused.exit_code == 1


@pytest.mark.parametrize(
    ("command", "option"), [("seed", "--leads"), ("seed", "--seed"), ("run", "--concurrency")]
)
def test_bench_commands_hand_their_options_to_the_bench_scripts(command: str, option: str) -> None:
    import subprocess
    import sys

    shown = subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-c", "from crm.cli import main; main()", "bench", command, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert shown.returncode == 0, shown.stderr
    assert option in shown.stdout
