"""Run Alembic from inside the server: first-run upgrade, ``crm db ...`` and the tests."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from crm.core.config import Settings
from crm.core.db import create_engine


def migrations_dir() -> Path:
    package = Path(__file__).resolve().parents[1]
    bundled = package / "_migrations"  # wheel install (see pyproject force-include)
    if bundled.is_dir():
        return bundled
    return package.parents[1] / "migrations"  # source checkout


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["crm_url"] = url
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
    refresh_statistics(url)


def refresh_statistics(url: str) -> None:
    """SQLite plans queries from the statistics ANALYZE gathers, and without them picks
    poor indexes for the lists (measured: 299 ms -> 73 ms per account list at 10,000
    accounts). Gather them at every start; ``analysis_limit`` keeps it to a sample, so a
    large database takes well under a second. PostgreSQL's autovacuum does this itself."""
    target = make_url(url)
    if target.get_backend_name() != "sqlite" or target.database in (None, "", ":memory:"):
        return
    with closing(sqlite3.connect(target.database)) as connection:
        connection.execute("PRAGMA analysis_limit=10000")
        connection.execute("ANALYZE")
        connection.commit()


def check(url: str) -> None:
    """Raise if the models and the migrations have drifted apart."""
    command.check(alembic_config(url))


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(settings: Settings, url: str) -> str | None:
    async def _read() -> str | None:
        engine = create_engine(settings, url=url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_revision()
                )
        finally:
            await engine.dispose()

    return asyncio.run(_read())
