"""Test harness: a freshly created and migrated database per run, one rolled-back
transaction per test, and an HTTP client on the real ASGI app.

``CRM_TEST_DATABASE_URL`` picks the backend: unset = a SQLite file in a temp dir;
``postgresql://user@host:port/db`` = a new database ``crm_test_<random>`` is created on that
server for this run (``db`` is only used to connect) and dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.app import configure_state, create_app
from crm.auth.google import GoogleIdentity
from crm.core import security
from crm.core.config import Settings
from crm.core.db import Database, make_sessionmaker
from crm.core.migrations import upgrade
from crm.core.queue import RecordingDispatcher
from crm.core.ratelimit import MemoryCounter
from crm.core.tenancy import SHARED_CONNECTION_KEY, Role, TenantContext

TEST_SECRET = "test-secret-" + "x" * 40

# The production hasher, kept so a test can check its parameters after the swap below.
PRODUCTION_HASHER = security._hasher


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with minimal cost: the production parameters take ~0.3 s per hash here, and
    the suite hashes thousands of times. tests/core/test_password_hashing.py checks the real ones."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(security, "_hasher", cheap)
    monkeypatch.setattr(security, "_DUMMY_HASH", cheap.hash("dummy"))


def _backend_url() -> str:
    return os.environ.get("CRM_TEST_DATABASE_URL", "").strip()


@contextmanager
def fresh_database_url() -> Iterator[str]:
    """A newly created, migrated database on the backend under test, dropped afterwards."""
    raw = _backend_url()
    if not raw or raw.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="crm-test-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'test.sqlite3'}"
            upgrade(url)
            yield url
        return
    server = make_url(raw)
    name = f"crm_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with fresh_database_url() as url:
        yield url


@pytest.fixture(scope="session")
def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="crm-data-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url, secret_key=TEST_SECRET, data_dir=data_dir, redis_url=""
    )


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database.from_settings(settings)
    yield db
    await db.dispose()


@pytest.fixture
async def connection(database: Database) -> AsyncIterator[AsyncConnection]:
    """The test's transaction: requests commit to SAVEPOINTs inside it; it is rolled back."""
    async with database.engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield conn
        finally:
            await outer.rollback()


@pytest.fixture
def test_database(database: Database, connection: AsyncConnection) -> Database:
    return Database(
        engine=database.engine,
        sessionmaker=make_sessionmaker(
            connection,
            join_transaction_mode="create_savepoint",
            info={SHARED_CONNECTION_KEY: True},
        ),
    )


class FakeGoogle:
    """Stands in for Google: tokens registered with ``add`` verify, anything else fails."""

    def __init__(self) -> None:
        self.identities: dict[str, GoogleIdentity] = {}

    def add(self, token: str, identity: GoogleIdentity) -> None:
        self.identities[token] = identity

    async def verify(self, token: str) -> GoogleIdentity | None:
        return self.identities.get(token)


@pytest.fixture
def google() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    """Jobs are recorded, not run: tests drive them explicitly on the test's own connection."""
    return RecordingDispatcher()


@pytest.fixture(scope="session")
def shared_app(settings: Settings, database: Database) -> Any:
    """One app for the whole run: FastAPI builds its routing on an app's first request
    (about 0.3 s here), which per test added minutes to the suite."""
    return create_app(settings, database=database)


@pytest.fixture
def app(
    shared_app: Any,
    settings: Settings,
    test_database: Database,
    google: FakeGoogle,
    dispatcher: RecordingDispatcher,
) -> Any:
    """The shared app with a fresh state: this test's database, counter, cache, dispatcher,
    storage and settings (a test may replace any of them on ``app.state``)."""
    configure_state(
        shared_app,
        settings,
        database=test_database,
        google_verifier=google,
        counter=MemoryCounter(),
        dispatcher=dispatcher,
    )
    return shared_app


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


# -- factories: real users and orgs made through the API ----------------------------------


@dataclass
class Member:
    """A logged-in user acting in one org."""

    email: str
    password: str
    access: str
    refresh: str
    user_id: str
    org_id: str = ""
    profile_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.access}"}
        if self.org_id:
            headers["organization-id"] = self.org_id
        return headers

    @property
    def tenant(self) -> TenantContext:
        """This member as the tenant context of a session (acting as an admin), for tests
        that write rows directly."""
        return TenantContext(
            org_id=uuid.UUID(self.org_id),
            profile_id=uuid.UUID(self.profile_id),
            user_id=uuid.UUID(self.user_id),
            role=Role.ADMIN,
        )

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


class Factory:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def user(
        self, email: str | None = None, password: str = "correct horse battery"
    ) -> Member:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        response = await self.client.post(
            "/api/auth/register/", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Member(email, password, body["access"], body["refresh"], body["user"]["id"])

    async def admin(self, org_name: str | None = None) -> Member:
        """A new user who creates a new org and is its ADMIN."""
        member = await self.user()
        name = org_name or f"Org{uuid.uuid4().hex[:10]}"
        response = await self.client.post("/api/org/", json={"name": name}, headers=member.bearer)
        assert response.status_code == 201, response.text
        member.org_id = response.json()["org"]["id"]
        profile = await self.client.get("/api/profile/", headers=member.headers)
        assert profile.status_code == 200, profile.text
        member.profile_id = profile.json()["user_obj"]["id"]
        return member

    async def member_of(
        self, admin: Member, role: str = "USER", phone: str | None = None
    ) -> Member:
        """A new user added to ``admin``'s org by the admin (POST /api/users/)."""
        member = await self.user()
        response = await self.client.post(
            "/api/users/",
            json={"email": member.email, "role": role, "phone": phone or _phone()},
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        member.org_id = admin.org_id
        member.profile_id = response.json()["id"]
        return member


def _phone() -> str:
    return "+1415" + str(secrets.randbelow(10**7)).zfill(7)


@pytest.fixture
def factory(client: httpx.AsyncClient) -> Factory:
    return Factory(client)
