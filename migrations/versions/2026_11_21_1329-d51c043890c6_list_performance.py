"""list performance: picker and filter indexes, orgs.data_version

Pickers order accounts and contacts by name; the lead list filters on lower(source) and
status and orders by creation. ``orgs.data_version`` is bumped by every transaction that
changes the org's data and keys the cached list responses. Measured on the benchmark data
set (bench/README.md).

Revision ID: d51c043890c6
Revises: 3dc5491d4aba
Create Date: 2026-11-21 13:29:15.102499
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d51c043890c6"
down_revision: str | None = "3dc5491d4aba"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "orgs", sa.Column("data_version", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.create_index("ix_accounts_org_id_name_id", "accounts", ["org_id", "name", "id"])
    op.create_index(
        "ix_contacts_org_id_first_name_last_name_id",
        "contacts",
        ["org_id", "first_name", "last_name", "id"],
    )
    op.create_index(
        "ix_leads_org_id_source_ci_status_created_on",
        "leads",
        ["org_id", sa.text("lower(source)"), "status", "created_on"],
        # PostgreSQL answers counts from the index alone only if it holds the column.
        postgresql_include=["source"],
    )


def downgrade() -> None:
    op.drop_index("ix_leads_org_id_source_ci_status_created_on", table_name="leads")
    op.drop_index("ix_contacts_org_id_first_name_last_name_id", table_name="contacts")
    op.drop_index("ix_accounts_org_id_name_id", table_name="accounts")
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("data_version")
