"""schemathesis against the real server: every operation of the OpenAPI document, with
examples and generated inputs, authenticated as the admin of a seeded org (by a secret API
key, which a generated logout cannot revoke). Pass: no 5xx, every response conforms to
its documented schema, and no request that reached org A's records is allowed to anyone
else.

Replays (``replay_hooks.py``, the check ``replayed_as_another_user_is_refused``): org A is
seeded through the API with real records of every kind a path parameter names (two where
the path can be deleted), a USER member who neither created nor is assigned to any of
them, and org B with an admin and a secret key of its own. The hooks put the real ids into
the path of every examples-phase case and about half of the fuzzing cases; whenever org
A's admin gets a 2xx on such a case, the same request is replayed as org B's admin (must
get exactly the missing-id answer) and as the USER (the documented 403, or their own
missing-id 404; never a 2xx). DELETEs are replayed before the admin's request. The report
(shown with ``-s``) lists the replays per operation and the operations never replayed;
``test_the_replay_check_catches_a_leak`` proves the check fails when the replays succeed.

It runs the server as ``crm serve`` in a subprocess on a free loopback port, against a
database of its own, and schemathesis as its CLI (a bounded number of examples per
operation, a fixed seed, a time budget). It runs with the PostgreSQL suite only: one
backend is enough to check the API's contract, and the SQLite suite is the longer one.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Factory, fresh_database_url
from tests.contracts.test_routes import MODULE_RECORD_MAKERS, RECORD_MAKERS

EXAMPLES_PER_OPERATION = 2
MIN_REPLAYED_OPERATIONS = 80  # of 108 with path parameters; 102 in the runs so far
RATE_LIMITS = [
    "CRM_RATE_LIMIT_API_PER_CREDENTIAL",
    "CRM_RATE_LIMIT_API_PER_IP",
    *(
        f"CRM_RATE_LIMIT_{action}_PER_{who}"
        for action in ("LOGIN", "REGISTER", "REFRESH", "GOOGLE")
        for who in ("IP", "ACCOUNT")
    ),
    "CRM_LEAD_CAPTURE_PER_MINUTE",
]
TIME_BUDGET_SECONDS = 300

pytestmark = pytest.mark.skipif(
    not os.environ.get("CRM_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="runs with the PostgreSQL suite",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    with fresh_database_url() as url:
        env = {**os.environ, "CRM_DATABASE_URL": url, "CRM_DATA_DIR": str(tmp_path)}
        env.pop("CRM_REDIS_URL", None)
        # ~10,000 requests in five minutes with one key and from one address: far above
        # the production limits, which are tested in tests/core/test_rate_limits.py.
        env.update({name: "1000000" for name in RATE_LIMITS})
        crm = shutil.which("crm", path=str(Path(sys.executable).parent))
        assert crm is not None, "the crm command is installed with the project"
        command = [crm, "serve", "--port", str(port), "--workers", "1"]
        log = (tmp_path / "server.log").open("w")
        process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.25)
            else:
                raise AssertionError((tmp_path / "server.log").read_text())
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)
            log.close()


# Operations a member may call on any record of the org: the USER's replay is not made.
USER_ALLOWED = {
    "GET /api/teams/{team_id}/",
    "GET /api/api-settings/{setting_id}/",
    "GET /api/leads/company/{company_id}/",
}
_PARAM = re.compile(r"{(\w+)}")


async def _seed(base: str) -> tuple[str, dict[str, Any]]:
    """Org A: an admin with a secret key (the fuzzing credential), a USER member, and real
    records of every kind a path parameter names (two where the path can be deleted); org B:
    an admin with a secret key. Writes the replay plan (see replay_hooks) and returns org
    A's key and the plan."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        factory = Factory(client)
        admin = await factory.admin("FuzzOrg")
        user = await factory.member_of(admin)
        other = await factory.admin("OtherOrg")
        keys, key_ids = [], []
        for member in (admin, other):
            response = await client.post(
                "/api/api-keys/", json={"name": "fuzz"}, headers=member.headers
            )
            assert response.status_code == 201, response.text
            keys.append(str(response.json()["key"]))
            key_ids.append(str(response.json()["id"]))
        schema = (await client.get("/openapi.json")).json()
        made: dict[tuple[str, str], str] = {}
        ids: dict[str, dict[str, dict[str, str]]] = {}
        for path, item in sorted(schema["paths"].items()):
            params = _PARAM.findall(path)
            if not params:
                continue
            module = path.removeprefix("/api/").split("/", 1)[0]
            ids[path] = {}
            for name in params:
                maker = MODULE_RECORD_MAKERS.get((module, name)) or RECORD_MAKERS[name]
                if (module, name) not in made:
                    made[(module, name)] = await maker(client, factory, admin)
                choice = {"keep": made[(module, name)]}
                if "delete" in item and name == params[-1]:
                    choice["doomed"] = await maker(client, factory, admin)
                ids[path][name] = choice
    return keys[0], {
        "base": base,
        "ids": ids,
        "other_org": {"Authorization": f"Bearer {keys[1]}"},
        "user": user.headers,
        "protected": [admin.profile_id, user.profile_id, key_ids[0]],
        "user_allowed": sorted(USER_ALLOWED),
    }


def _schemathesis(
    server: str, key: str, plan: dict[str, Any], tmp_path: Path, *arguments: str
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """Run the schemathesis CLI with the replay hooks; its result and the replays made."""
    plan_file, replay_log = tmp_path / "plan.json", tmp_path / "replays.jsonl"
    plan_file.write_text(json.dumps(plan))
    replay_log.write_text("")
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert executable is not None, "schemathesis is a dev dependency"
    command = [
        executable,
        "run",
        f"{server}/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--phases",
        "examples,fuzzing",
        "--continue-on-failure",
        "--seed",
        "20261121",
        *arguments,
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("replay_hooks.py")),
        "CRM_FUZZ_REPLAY_PLAN": str(plan_file),
        "CRM_FUZZ_REPLAY_LOG": str(replay_log),
    }
    run = subprocess.run(  # noqa: S603 - the project's own dev tool, fixed arguments
        command,
        capture_output=True,
        text=True,
        timeout=TIME_BUDGET_SECONDS + 120,
        check=False,
        env=env,
        cwd=tmp_path,  # schemathesis' cache directory goes there, not into the checkout
    )
    return run, [json.loads(line) for line in replay_log.read_text().splitlines()]


def test_no_server_errors_and_responses_match_the_schema(server: str, tmp_path: Path) -> None:
    key, replay_plan = asyncio.run(_seed(server))
    run, replays = _schemathesis(
        server,
        key,
        replay_plan,
        tmp_path,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--checks",
        "not_a_server_error,response_schema_conformance,replayed_as_another_user_is_refused",
        "--max-time",
        str(TIME_BUDGET_SECONDS),
        # Logging out ends the seeded login session; the key is unaffected, but there is
        # nothing to learn from ending it over and over.
        "--exclude-path",
        "/api/auth/logout/",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    )
    summary = run.stdout[-6000:]
    sys.stderr.write(summary[-1500:])  # the run's summary, shown with -s
    report = _replay_report(replays, replay_plan)
    sys.stderr.write(report)
    assert not [line for line in replays if line["problem"]], report
    assert run.returncode == 0, summary
    # The time budget is a safety net, not a cut: every selected operation was tested.
    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    tested = re.search(r"Tested: (\d+)", summary)
    assert selected is not None, summary
    assert tested is not None, summary
    assert tested.group(1) == selected.group(1), summary
    # The replay check is not vacuous: it ran for many operations, as both identities.
    replayed = {line["operation"] for line in replays}
    assert len(replayed) >= MIN_REPLAYED_OPERATIONS, report
    assert {line["who"] for line in replays} == {"other_org", "user"}, report


def _replay_report(replays: list[dict[str, Any]], plan: dict[str, Any]) -> str:
    by_operation: dict[str, Counter[str]] = {}
    for line in replays:
        by_operation.setdefault(line["operation"], Counter())[
            f"{line['who']}:{line['status']}"
        ] += 1
    lines = [f"{operation}  {dict(counts)}" for operation, counts in sorted(by_operation.items())]
    problems = [
        f"PROBLEM {line['operation']}: {line['problem']}" for line in replays if line["problem"]
    ]
    schema = httpx.get(f"{plan['base']}/openapi.json", timeout=30).json()
    unreplayed = sorted(
        f"{method.upper()} {path}"
        for path in plan["ids"]
        for method in schema["paths"][path]
        if f"{method.upper()} {path}" not in by_operation
    )
    lines.append(f"never replayed (A's admin got no 2xx on a seeded record): {unreplayed}")
    return (
        f"\nreplays: {len(replays)} on {len(by_operation)} operations, "
        f"{len(problems)} problems\n" + "\n".join(lines + problems) + "\n"
    )


def test_the_replay_check_catches_a_leak(server: str, tmp_path: Path) -> None:
    """The check can fail: "org B" and "the USER" are given org A's admin key, as if the
    server let them in, and the replays of the record's detail must be reported."""
    key, replay_plan = asyncio.run(_seed(server))
    leaky = {**replay_plan, "other_org": {"Authorization": f"Bearer {key}"}}
    leaky["user"] = leaky["other_org"]
    run, replays = _schemathesis(
        server,
        key,
        leaky,
        tmp_path,
        "--max-examples",
        "10",
        "--checks",
        "replayed_as_another_user_is_refused",
        "--include-name",
        "GET /api/accounts/{account_id}/",
    )
    assert "Selected: 1/" in run.stdout, run.stdout[-3000:]
    assert run.returncode != 0, run.stdout[-3000:]
    problems = {(line["who"], line["status"]) for line in replays if line["problem"]}
    assert problems == {("other_org", 200), ("user", 200)}, replays
