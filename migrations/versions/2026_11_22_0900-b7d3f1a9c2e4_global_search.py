"""global search (issue 7): trigram indexes on PostgreSQL, an FTS5 index on SQLite

Search walks each tier newest first: for a common term the newest matches are found by
walking the lists' ``(org_id, created_on, id)`` index (revision 630d8c33b78a) backwards
rather than by sorting every match.

PostgreSQL: ``pg_trgm`` and, per searchable table, a btree on the org and the lower-cased
name (``text_pattern_ops``: equality and prefix LIKE whatever the collation), a GIN
trigram index on the lower-cased name and one on the lower-cased searchable text. Their
expressions must stay exactly those of ``crm.search.repository`` (the planner matches
expressions, not meanings); tests/search/test_search_indexes.py checks that the queries use
them. They are not in the models (autogenerate cannot express them): migrations/env.py
leaves them out of ``alembic check``.

SQLite: ``search_documents`` (one row per record: org, kind, record id, name, other text)
kept by triggers on the five record tables, so bulk inserts (bench/seed.py, imports) are
indexed too; ``search_index`` is an external-content FTS5 table over it with the trigram
tokenizer, kept by triggers on ``search_documents``. A migration that rebuilds one of the
record tables (a batch "move and copy") drops that table's triggers: it must create them
again (``_sqlite_record_triggers`` below shows them).

Revision ID: b7d3f1a9c2e4
Revises: 630d8c33b78a
Create Date: 2026-11-22 09:00:00
"""

import re
from collections.abc import Sequence

from alembic import op

revision: str = "b7d3f1a9c2e4"
down_revision: str | None = "630d8c33b78a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (kind, name expression, other searchable text or None), in SQL over the row's
# columns; on SQLite the same with NEW./OLD. prefixes (``_columns`` adds them).
_PERSON = "first_name || ' ' || last_name"
SEARCHED: dict[str, tuple[str, str, str | None]] = {
    "accounts": (
        "account",
        "name",
        "coalesce(email, '') || ' ' || coalesce(website, '') || ' ' || coalesce(billing_city, '')",
    ),
    "contacts": ("contact", _PERSON, "primary_email || ' ' || coalesce(organization, '')"),
    "leads": (
        "lead",
        _PERSON,
        "coalesce(email, '') || ' ' || coalesce(account_name, '') || ' ' || coalesce(title, '')",
    ),
    "opportunities": ("opportunity", "name", None),
    "cases": ("case", "name", None),
}
# The columns whose change re-indexes a record (SQLite triggers).
WATCHED: dict[str, tuple[str, ...]] = {
    "accounts": ("name", "email", "website", "billing_city"),
    "contacts": ("first_name", "last_name", "primary_email", "organization"),
    "leads": ("first_name", "last_name", "email", "account_name", "title"),
    "opportunities": ("name",),
    "cases": ("name",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, (_kind, _name, other) in SEARCHED.items():
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_name")
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_name_trgm")
            if other is not None:
                op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_text_trgm")
        # pg_trgm stays: other objects of the database may have come to use it.
    else:
        for table in SEARCHED:
            for event in ("ai", "au", "ad"):
                op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{event}")
        for event in ("ai", "au", "ad"):
            op.execute(f"DROP TRIGGER IF EXISTS search_documents_{event}")
        op.execute("DROP TABLE IF EXISTS search_index")
        op.execute("DROP TABLE IF EXISTS search_documents")


# -- PostgreSQL -------------------------------------------------------------------------------


def _upgrade_postgresql() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, (_kind, name, other) in SEARCHED.items():
        op.execute(
            f"CREATE INDEX ix_{table}_search_name ON {table} (org_id, lower({name}) text_pattern_ops)"
        )
        op.execute(
            f"CREATE INDEX ix_{table}_search_name_trgm ON {table} "
            f"USING gin (lower({name}) gin_trgm_ops)"
        )
        if other is not None:
            op.execute(
                f"CREATE INDEX ix_{table}_search_text_trgm ON {table} "
                f"USING gin (lower({name} || ' ' || {other}) gin_trgm_ops)"
            )


# -- SQLite -----------------------------------------------------------------------------------


def _columns(expression: str, row: str) -> str:
    """``expression`` over the columns of ``row`` (NEW or OLD) instead of the bare table."""
    out = expression
    for column in sorted({c for cols in WATCHED.values() for c in cols}, key=len, reverse=True):
        out = _replace_word(out, column, f"{row}.{column}")
    return out


def _replace_word(text: str, word: str, replacement: str) -> str:
    return re.sub(rf"(?<![\w.]){word}(?!\w)", replacement, text)


def _upgrade_sqlite() -> None:
    op.execute(
        "CREATE TABLE search_documents ("
        "id INTEGER PRIMARY KEY, org_id CHAR(32) NOT NULL, kind VARCHAR(16) NOT NULL, "
        "record_id CHAR(32) NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL)"
    )
    op.execute(
        "CREATE UNIQUE INDEX ix_search_documents_record ON search_documents (record_id, kind)"
    )
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5(name, body, "
        "content='search_documents', content_rowid='id', tokenize='trigram')"
    )
    # The FTS5 documentation's triggers for an external-content table.
    op.execute(
        "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
        "INSERT INTO search_index (rowid, name, body) VALUES (new.id, new.name, new.body); END"
    )
    op.execute(
        "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
        "INSERT INTO search_index (search_index, rowid, name, body) "
        "VALUES ('delete', old.id, old.name, old.body); END"
    )
    op.execute(
        "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
        "INSERT INTO search_index (search_index, rowid, name, body) "
        "VALUES ('delete', old.id, old.name, old.body); "
        "INSERT INTO search_index (rowid, name, body) VALUES (new.id, new.name, new.body); END"
    )
    for table, (kind, name, other) in SEARCHED.items():
        body = other or "''"
        op.execute(
            "INSERT INTO search_documents (org_id, kind, record_id, name, body) "  # noqa: S608 - SQL from this file's constants
            f"SELECT org_id, '{kind}', id, {name}, {body} FROM {table}"
        )
        for statement in _sqlite_record_triggers(table):
            op.execute(statement)


def _sqlite_record_triggers(table: str) -> list[str]:
    """The triggers that keep ``search_documents`` in step with ``table``."""
    kind, name, other = SEARCHED[table]
    body = other or "''"
    watched = ", ".join(WATCHED[table])
    return [
        f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN "  # noqa: S608
        "INSERT INTO search_documents (org_id, kind, record_id, name, body) "
        f"VALUES (NEW.org_id, '{kind}', NEW.id, {_columns(name, 'NEW')}, "
        f"{_columns(body, 'NEW')}); END",
        f"CREATE TRIGGER search_{table}_au AFTER UPDATE OF {watched} ON {table} BEGIN "  # noqa: S608
        f"UPDATE search_documents SET name = {_columns(name, 'NEW')}, "
        f"body = {_columns(body, 'NEW')} WHERE record_id = OLD.id AND kind = '{kind}'; END",
        f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN "  # noqa: S608
        f"DELETE FROM search_documents WHERE record_id = OLD.id AND kind = '{kind}'; END",
    ]
