"""Migrations: they build the schema the models describe, and they go down and up again."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

import crm.models  # noqa: F401 - registers every table
from crm.core.config import Settings
from crm.core.db import Base, async_url
from crm.core.migrations import alembic_config, check, current_revision, head_revision, upgrade


def test_models_and_migrations_agree(database_url: str) -> None:
    check(database_url)  # raises when autogenerate would emit operations


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"
    settings = Settings(database_url=url, secret_key="x" * 40, data_dir=tmp_path)
    upgrade(url)
    assert current_revision(settings, url) == head_revision(url)
    command.downgrade(alembic_config(url), "base")
    assert current_revision(settings, url) is None
    upgrade(url)
    assert current_revision(settings, url) == head_revision(url)
    check(url)


def test_migration_files_are_dated() -> None:
    versions = Path(__file__).resolve().parents[2] / "migrations" / "versions"
    names = [p.name for p in versions.glob("*.py")]
    assert names
    dated = re.compile(r"^\d{4}_\d{2}_\d{2}_\d{4}-\w+\.py$")
    undated = [name for name in names if not dated.match(name)]
    assert not undated, f"not named YYYY_MM_DD_HHMM-rev_slug.py: {undated}"


def test_every_index_of_the_models_exists(database_url: str) -> None:
    """``alembic check`` cannot see expression indexes on SQLite (reflection skips them), and
    SQLite's batch mode once dropped three of them silently: compare by name instead."""

    def names(connection: Connection) -> set[str]:
        if connection.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
            return {str(row[0]) for row in rows}
        inspector = inspect(connection)
        return {
            str(index["name"])
            for table in inspector.get_table_names()
            for index in inspector.get_indexes(table)
        }

    async def present() -> set[str]:
        engine = create_async_engine(async_url(database_url))
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(names)
        finally:
            await engine.dispose()

    wanted = {index.name for table in Base.metadata.tables.values() for index in table.indexes}
    assert sorted(str(name) for name in wanted - asyncio.run(present())) == []
