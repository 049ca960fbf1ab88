"""Real processes for the fault tests, all on loopback: ``crm serve`` and ``crm worker``
subprocesses, and a private PostgreSQL cluster a test may stop and start (the shared one
is never touched).

Every process is started in its own session (process group) so that it, and any child it
forks (uvicorn and taskiq workers fork), can be ended as a whole, by its own id.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def crm_command() -> str:
    crm = shutil.which("crm", path=str(Path(sys.executable).parent))
    assert crm is not None, "the crm command is installed with the project"
    return crm


def pg_backend() -> bool:
    return os.environ.get("CRM_TEST_DATABASE_URL", "").startswith("postgresql")


only_on_postgresql = pytest.mark.skipif(
    not pg_backend(), reason="a PostgreSQL fault: runs with the PostgreSQL suite"
)


@dataclass
class Process:
    """A started command, its log, and how to end it (its whole process group)."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a pulled plug would: no cleanup runs."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        else:
            # The leader is gone; children it forked may still be in the group.
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def start(command: list[str], env: dict[str, str], log: Path) -> Process:
    with log.open("ab") as handle:
        process = subprocess.Popen(  # noqa: S603 - our own commands, fixed arguments
            command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Process(process, log)


def crm_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CRM_") or key == "CRM_TEST_DATABASE_URL"
    }
    env.update(
        {
            "CRM_DATABASE_URL": database_url,
            "CRM_DATA_DIR": str(data_dir),
            "CRM_SECRET_KEY": "fault-tests-" + "k" * 40,
            "CRM_LOG_LEVEL": "WARNING",
        }
    )
    env.update({f"CRM_{name.upper()}": value for name, value in settings.items()})
    return env


@contextmanager
def crm_server(env: dict[str, str], log_dir: Path) -> Iterator[tuple[str, Process]]:
    """``crm serve`` (one worker process) on a free port; yields its base URL."""
    port = free_port()
    server = start(
        [crm_command(), "serve", "--port", str(port), "--workers", "1"],
        env,
        log_dir / f"serve-{port}.log",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.alive(), server.output()
            try:
                if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError(f"crm serve did not come up:\n{server.output()}")
        yield base, server
    finally:
        server.stop()


@dataclass
class Seeded:
    key: str
    org_id: str
    access: str

    @property
    def headers(self) -> dict[str, str]:
        """Acting as the org's admin through a secret API key."""
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def member_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}", "organization-id": self.org_id}


def seed(base: str) -> Seeded:
    """A registered admin of a new org and a secret API key acting as them."""
    with httpx.Client(base_url=base, timeout=30) as http:
        login = http.post(
            "/api/auth/register/",
            json={"email": "faults@example.com", "password": "correct horse battery"},
        )
        assert login.status_code == 201, login.text
        access = login.json()["access"]
        org = http.post(
            "/api/org/", json={"name": "FaultOrg"}, headers={"Authorization": f"Bearer {access}"}
        )
        assert org.status_code == 201, org.text
        org_id = org.json()["org"]["id"]
        headers = {"Authorization": f"Bearer {access}", "organization-id": org_id}
        key = http.post("/api/api-keys/", json={"name": "faults"}, headers=headers)
        assert key.status_code == 201, key.text
        return Seeded(key=str(key.json()["key"]), org_id=org_id, access=access)


# -- a private PostgreSQL cluster ----------------------------------------------------------


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, in a temp dir, on a free loopback port."""

    root: Path
    port: int
    as_postgres: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 - the PostgreSQL binaries, fixed arguments
            [*self.as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=40"
        )
        self._pg_ctl("-o", options, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL server binaries not found in {PG_BIN}")
    # PostgreSQL refuses to run as root: as root, run it as the postgres OS user.
    as_postgres: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if runuser is None or owner is None:
            pytest.skip("running as root without runuser or a postgres OS user")
        as_postgres = [runuser, "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="crm-fault-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = PrivatePostgres(root=root, port=free_port(), as_postgres=as_postgres)
    try:
        subprocess.run(  # noqa: S603 - the PostgreSQL binaries, fixed arguments
            [
                *as_postgres,
                str(PG_BIN / "initdb"),
                "-D",
                str(cluster.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            with suppress(subprocess.SubprocessError):
                cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
