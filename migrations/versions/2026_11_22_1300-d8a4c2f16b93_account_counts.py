"""account counts kept by the database (issue 7): ``account_counts`` and its triggers

As ``lead_counts`` (revision c5e2a9d41f07) for the leads: +1/-1 rows per (org, status),
appended by triggers on ``accounts``, summed by an admin's account list and dashboard
instead of counting the accounts, folded now and then by ``crm.models.record_counts``.
The existing accounts are counted into it here. A migration that rebuilds ``accounts`` on
SQLite drops the triggers: it must create them again (``_sqlite_triggers``).

Revision ID: d8a4c2f16b93
Revises: c5e2a9d41f07
Create Date: 2026-11-22 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d8a4c2f16b93"
down_revision: str | None = "c5e2a9d41f07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "crm_tenant"
ORG_OF_TRANSACTION = "NULLIF(current_setting('crm.org_id', true), '')::uuid"


def _append(row: str, n: int) -> str:
    values = f"{row}.org_id, {row}.status, {n}"
    return f"INSERT INTO account_counts (org_id, status, n) VALUES ({values});"  # noqa: S608


def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER account_counts_ai AFTER INSERT ON accounts BEGIN {_append('NEW', 1)} END",
        f"CREATE TRIGGER account_counts_ad AFTER DELETE ON accounts BEGIN {_append('OLD', -1)} END",
        "CREATE TRIGGER account_counts_au AFTER UPDATE OF status ON accounts "
        f"WHEN OLD.status IS NOT NEW.status BEGIN {_append('OLD', -1)} {_append('NEW', 1)} END",
    ]


def upgrade() -> None:
    op.create_table(
        "account_counts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_counts")),
    )
    op.create_index(op.f("ix_account_counts_org_id"), "account_counts", ["org_id"], unique=False)
    op.execute(
        "INSERT INTO account_counts (org_id, status, n) "
        "SELECT org_id, status, count(*) FROM accounts GROUP BY org_id, status"
    )
    if op.get_bind().dialect.name == "postgresql":
        rule = f"org_id = {ORG_OF_TRANSACTION}"
        op.execute("ALTER TABLE account_counts ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON account_counts TO {ROLE} "
            f"USING ({rule}) WITH CHECK ({rule})"
        )
        op.execute(
            "CREATE FUNCTION account_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_append('OLD', -1)} END IF; "
            f"IF TG_OP IN ('UPDATE', 'INSERT') THEN {_append('NEW', 1)} END IF; "
            "RETURN NULL; "
            "END $$"
        )
        op.execute(
            "CREATE TRIGGER account_counts_track AFTER INSERT OR DELETE ON accounts "
            "FOR EACH ROW EXECUTE FUNCTION account_counts_track()"
        )
        op.execute(
            "CREATE TRIGGER account_counts_track_update AFTER UPDATE OF status ON accounts "
            "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) "
            "EXECUTE FUNCTION account_counts_track()"
        )
    else:
        for trigger in _sqlite_triggers():
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS account_counts_track_update ON accounts")
        op.execute("DROP TRIGGER IF EXISTS account_counts_track ON accounts")
        op.execute("DROP FUNCTION IF EXISTS account_counts_track()")
    else:
        for name in ("account_counts_ai", "account_counts_ad", "account_counts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(op.f("ix_account_counts_org_id"), table_name="account_counts")
    op.drop_table("account_counts")
