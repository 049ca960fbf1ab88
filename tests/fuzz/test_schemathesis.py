"""schemathesis against the real server: every operation of the OpenAPI document, with
examples and generated inputs, authenticated as the admin of a seeded org (by a secret API
key, which a generated logout cannot revoke). Pass: no 5xx, and every response conforms
to its documented schema.

It runs the server as ``crm serve`` in a subprocess on a free loopback port, against a
database of its own, and schemathesis as its CLI (a bounded number of examples per
operation, a fixed seed, a time budget). It runs with the PostgreSQL suite only: one
backend is enough to check the API's contract, and the SQLite suite is the longer one.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_database_url

EXAMPLES_PER_OPERATION = 2
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


def _seed(base: str) -> str:
    """A registered admin of a new org, some records, and a secret key acting as them."""
    with httpx.Client(base_url=base, timeout=30) as http:
        login = http.post(
            "/api/auth/register/",
            json={"email": "fuzz@example.com", "password": "correct horse battery"},
        )
        access = login.json()["access"]
        org = http.post(
            "/api/org/", json={"name": "FuzzOrg"}, headers={"Authorization": f"Bearer {access}"}
        ).json()["org"]["id"]
        headers = {"Authorization": f"Bearer {access}", "organization-id": org}
        key = http.post("/api/api-keys/", json={"name": "fuzz"}, headers=headers).json()["key"]
        account = http.post("/api/accounts/", json={"name": "Acme"}, headers=headers).json()
        http.post(
            "/api/opportunities/",
            json={"name": "Deal", "account": account["id"], "amount": "100"},
            headers=headers,
        )
        http.post("/api/leads/", json={"first_name": "Lee", "last_name": "Doe"}, headers=headers)
        return str(key)


def test_no_server_errors_and_responses_match_the_schema(server: str, tmp_path: Path) -> None:
    key = _seed(server)
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert executable is not None, "schemathesis is a dev dependency"
    command = [
        executable,
        "run",
        f"{server}/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--phases",
        "examples,fuzzing",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--continue-on-failure",
        "--seed",
        "20261121",
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
    ]
    run = subprocess.run(  # noqa: S603 - the project's own dev tool, fixed arguments
        command, capture_output=True, text=True, timeout=TIME_BUDGET_SECONDS + 120, check=False
    )
    summary = run.stdout[-6000:]
    sys.stderr.write(summary[-1500:])  # the run's summary, shown with -s
    assert run.returncode == 0, summary
    # The time budget is a safety net, not a cut: every selected operation was tested.
    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    tested = re.search(r"Tested: (\d+)", summary)
    assert selected is not None, summary
    assert tested is not None, summary
    assert tested.group(1) == selected.group(1), summary
