"""index the foreign keys to leads

Deleting a lead sets ``accounts.lead_id``, ``opportunities.lead_id`` and
``companies.created_from_lead_id`` to null; without an index each deletion scanned those
tables (the benchmark's clean-up of 100,000 imported leads ran for minutes on 100,000
accounts and opportunities). Plain CREATE INDEX: a batch rebuild on SQLite would drop the
search triggers of revision b7d3f1a9c2e4.

Revision ID: e413a03f500a
Revises: b7d3f1a9c2e4
Create Date: 2026-11-21 23:38:01.988049
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e413a03f500a"
down_revision: str | None = "b7d3f1a9c2e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_accounts_lead_id", "accounts", "lead_id"),
    ("ix_companies_created_from_lead_id", "companies", "created_from_lead_id"),
    ("ix_opportunities_lead_id", "opportunities", "lead_id"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade() -> None:
    for name, table, _column in INDEXES:
        op.drop_index(name, table_name=table)
