"""Migrations: they build the schema the models describe, and they go down and up again."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command

from crm.core.config import Settings
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
