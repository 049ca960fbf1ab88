"""Alembic environment: async engine from CRM settings, batch mode on SQLite."""

from __future__ import annotations

import asyncio
import warnings
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

import crm.models  # noqa: F401 - registers every table on the metadata
from crm.core.config import get_settings
from crm.core.db import Base, Fixed4, Money, UTCDateTime, create_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# SQLite cannot reflect expression indexes (e.g. lower(name) uniqueness); PostgreSQL compares them.
warnings.filterwarnings("ignore", message=".*expression-based index.*")


def _url() -> str:
    return str(config.attributes.get("crm_url") or get_settings().effective_database_url)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Migrations stay free of app imports: app column types render as their storage type."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, Money):
        return "sa.BigInteger()"  # integer hundredths
    if type_ == "type" and isinstance(obj, Fixed4):
        return "sa.BigInteger()"  # integer ten-thousandths
    return False


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Leave out of autogenerate (and so of ``alembic check``) what global search keeps
    outside the models, because SQLAlchemy's metadata cannot describe it (migration
    "global search"): on SQLite the ``search_documents`` table, the FTS5 virtual table
    ``search_index`` and its shadow tables; on PostgreSQL the trigram (GIN) and
    ``text_pattern_ops`` expression indexes ``ix_<table>_search_*``."""
    if name is None:
        return True
    if type_ == "table":
        return name != "search_documents" and not (
            name == "search_index" or name.startswith("search_index_")
        )
    if type_ == "index":
        return "_search_" not in name and not name.startswith("ix_search_documents")
    return True


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        render_item=_render_item,
        include_name=_include_name,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(get_settings(), url=_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    existing = config.attributes.get("connection")
    if existing is not None:
        _run(existing)
    else:
        asyncio.run(_run_async())
