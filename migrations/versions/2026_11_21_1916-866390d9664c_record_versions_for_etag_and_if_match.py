"""Record versions for ETag / If-Match (optimistic concurrency, issue 6)

Adding a column with a default needs no table rebuild on SQLite, so the expression indexes
batch mode would drop stay in place.

Revision ID: 866390d9664c
Revises: 4ee6ac748f60
Create Date: 2026-11-21 19:16:43.960534
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "866390d9664c"
down_revision: str | None = "4ee6ac748f60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


VERSIONED_TABLES = (
    "accounts",
    "api_settings",
    "cases",
    "comments",
    "companies",
    "contacts",
    "documents",
    "events",
    "invoices",
    "leads",
    "opportunities",
    "opportunity_items",
    "opportunity_lost_reasons",
    "profiles",
    "tasks",
    "teams",
)


def upgrade() -> None:
    for table in VERSIONED_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column("version", sa.Integer(), server_default="1", nullable=False)
            )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would lose the expression indexes.
    for table in reversed(VERSIONED_TABLES):
        op.execute(f"ALTER TABLE {table} DROP COLUMN version")
