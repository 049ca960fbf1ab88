"""list indexes: (org_id, [filter,] created_on, id) for the default order and every
equality filter of the record lists

Every list orders by ``created_on DESC, id DESC`` within an org, and cursor pages continue
with ``(created_on, id) < (:created_on, :id)``: an index ending in ``created_on, id`` after
the org (and after an equality filter's column) serves the page, its keyset range and the
order with no sort, whatever the page's depth. The narrower ``(org_id, [filter,]
created_on)`` indexes they supersede are dropped. Plain CREATE/DROP INDEX (no batch
rebuild, which would lose SQLite's expression indexes). docs/architecture.md, "Indexes".

The two case-insensitive equality filters (lead ``source``, case ``case_type``) compare a
generated ``lower(...)`` column (stored on PostgreSQL, virtual on SQLite) instead of an
index on ``lower(...)``: under row-level security PostgreSQL does not use a non-leakproof
function as an index condition, so the expression index was never used by requests.

Revision ID: 630d8c33b78a
Revises: 39690e1a5816
Create Date: 2026-11-21 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "630d8c33b78a"
down_revision: str | None = "39690e1a5816"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER = ["created_on", "id"]

# (table, name, columns): the indexes made here.
NEW: list[tuple[str, str, list[object]]] = [
    ("accounts", "ix_accounts_org_id_created_on_id", ["org_id", *ORDER]),
    ("accounts", "ix_accounts_org_id_status_created_on_id", ["org_id", "status", *ORDER]),
    ("contacts", "ix_contacts_org_id_created_on_id", ["org_id", *ORDER]),
    ("leads", "ix_leads_org_id_created_on_id", ["org_id", *ORDER]),
    ("leads", "ix_leads_org_id_status_created_on_id", ["org_id", "status", *ORDER]),
    ("opportunities", "ix_opportunities_org_id_created_on_id", ["org_id", *ORDER]),
    ("opportunities", "ix_opportunities_org_id_stage_created_on_id", ["org_id", "stage", *ORDER]),
    (
        "opportunities",
        "ix_opportunities_org_id_currency_created_on_id",
        ["org_id", "currency", *ORDER],
    ),
    ("cases", "ix_cases_org_id_created_on_id", ["org_id", *ORDER]),
    ("cases", "ix_cases_org_id_status_created_on_id", ["org_id", "status", *ORDER]),
    ("cases", "ix_cases_org_id_priority_created_on_id", ["org_id", "priority", *ORDER]),
    ("cases", "ix_cases_org_id_case_type_ci_created_on_id", ["org_id", "case_type_ci", *ORDER]),
    ("tasks", "ix_tasks_org_id_created_on_id", ["org_id", *ORDER]),
    ("tasks", "ix_tasks_org_id_status_created_on_id", ["org_id", "status", *ORDER]),
    ("tasks", "ix_tasks_org_id_priority_created_on_id", ["org_id", "priority", *ORDER]),
    ("tasks", "ix_tasks_org_id_due_date_created_on_id", ["org_id", "due_date", *ORDER]),
    ("events", "ix_events_org_id_created_on_id", ["org_id", *ORDER]),
    ("events", "ix_events_org_id_status_created_on_id", ["org_id", "status", *ORDER]),
    ("events", "ix_events_org_id_event_type_created_on_id", ["org_id", "event_type", *ORDER]),
    ("invoices", "ix_invoices_org_id_created_on_id", ["org_id", *ORDER]),
    ("invoices", "ix_invoices_org_id_status_created_on_id", ["org_id", "status", *ORDER]),
    ("invoices", "ix_invoices_org_id_currency_created_on_id", ["org_id", "currency", *ORDER]),
    ("documents", "ix_documents_org_id_created_on_id", ["org_id", *ORDER]),
    ("documents", "ix_documents_org_id_status_created_on_id", ["org_id", "status", *ORDER]),
]

# (table, name, columns): the indexes the new ones supersede, dropped here.
OLD: list[tuple[str, str, list[object]]] = [
    ("accounts", "ix_accounts_org_id_status_created_on", ["org_id", "status", "created_on"]),
    ("contacts", "ix_contacts_org_id_created_on", ["org_id", "created_on"]),
    ("leads", "ix_leads_org_id_status_created_on", ["org_id", "status", "created_on"]),
    ("opportunities", "ix_opportunities_org_id_created_on", ["org_id", "created_on"]),
    ("cases", "ix_cases_org_id_created_on", ["org_id", "created_on"]),
    ("cases", "ix_cases_org_id_status_created_on", ["org_id", "status", "created_on"]),
    ("tasks", "ix_tasks_org_id_created_on", ["org_id", "created_on"]),
    ("tasks", "ix_tasks_org_id_due_date", ["org_id", "due_date"]),
    ("events", "ix_events_org_id_created_on", ["org_id", "created_on"]),
    ("invoices", "ix_invoices_org_id_created_on", ["org_id", "created_on"]),
    ("invoices", "ix_invoices_org_id_status_created_on", ["org_id", "status", "created_on"]),
    ("documents", "ix_documents_org_id_status_created_on", ["org_id", "status", "created_on"]),
]

# The lead source filter: (org_id, source_ci, status, created_on, id) replaces the
# expression index on lower(source).
SOURCE_OLD = "ix_leads_org_id_source_ci_status_created_on"
SOURCE_NEW = "ix_leads_org_id_source_ci_status_created_on_id"

# (table, generated column, length, source column)
LOWERED = [("leads", "source_ci", 255, "source"), ("cases", "case_type_ci", 64, "case_type")]


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN: SQLite adds only VIRTUAL generated columns this way;
    # PostgreSQL stores them (said explicitly: version 18 would default to VIRTUAL).
    stored = True if op.get_bind().dialect.name == "postgresql" else None
    for table, column, length, source in LOWERED:
        computed = sa.Computed(f"lower({source})", persisted=stored)
        op.add_column(table, sa.Column(column, sa.String(length=length), computed))
    for table, name, columns in NEW:
        op.create_index(name, table, columns)
    op.create_index(SOURCE_NEW, "leads", ["org_id", "source_ci", "status", *ORDER])
    op.drop_index(SOURCE_OLD, table_name="leads")
    for table, name, _columns in OLD:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, columns in OLD:
        op.create_index(name, table, columns)
    op.create_index(
        SOURCE_OLD,
        "leads",
        ["org_id", sa.text("lower(source)"), "status", "created_on"],
        postgresql_include=["source"],
    )
    op.drop_index(SOURCE_NEW, table_name="leads")
    for table, name, _columns in reversed(NEW):
        op.drop_index(name, table_name=table)
    for table, column, _length, _source in LOWERED:
        op.drop_column(table, column)
