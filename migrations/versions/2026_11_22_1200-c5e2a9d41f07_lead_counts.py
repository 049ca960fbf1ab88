"""lead counts kept by the database (issue 7): ``lead_counts`` and its triggers

The lead list answers how many leads match, per half. At a million leads an exact
``count(*)`` reads every matching index entry (hundreds of milliseconds), and the response
cache cannot hide it for long: every write of the org invalidates it. ``lead_counts`` keeps
the counts per (org, status, lower-cased source) as appended changes: +1 when a lead enters
a pair (INSERT, or an UPDATE of its status or source), -1 when it leaves one (DELETE, or the
same UPDATE). ``crm.leads.counts`` folds an org's rows into one per pair from time to time
(writers never update a shared counter row, so they never wait on each other).

The existing leads are counted into it here, one row per pair.

PostgreSQL: one trigger function, row-level AFTER triggers; rows are appended as the role
that changed the lead (``crm_tenant`` for a request, inside its org: the policy below
admits them). SQLite: three triggers. A migration that rebuilds ``leads`` on SQLite (a
batch "move and copy") drops them: it must create them again (``_sqlite_triggers``).

Revision ID: c5e2a9d41f07
Revises: e413a03f500a
Create Date: 2026-11-22 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c5e2a9d41f07"
down_revision: str | None = "e413a03f500a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "crm_tenant"
ORG_OF_TRANSACTION = "NULLIF(current_setting('crm.org_id', true), '')::uuid"
_COLUMNS = "org_id, status, source_ci, n"


def _append(row: str, n: int) -> str:
    return (
        f"INSERT INTO lead_counts ({_COLUMNS}) "  # noqa: S608 - constants only
        f"VALUES ({row}.org_id, {row}.status, {row}.source_ci, {n});"
    )


_CHANGED = "OLD.status IS DISTINCT FROM NEW.status OR OLD.source_ci IS DISTINCT FROM NEW.source_ci"


def _sqlite_triggers() -> list[str]:
    changed = _CHANGED.replace("IS DISTINCT FROM", "IS NOT")
    return [
        f"CREATE TRIGGER lead_counts_ai AFTER INSERT ON leads BEGIN {_append('NEW', 1)} END",
        f"CREATE TRIGGER lead_counts_ad AFTER DELETE ON leads BEGIN {_append('OLD', -1)} END",
        f"CREATE TRIGGER lead_counts_au AFTER UPDATE OF status, source ON leads "
        f"WHEN {changed} BEGIN {_append('OLD', -1)} {_append('NEW', 1)} END",
    ]


def upgrade() -> None:
    op.create_table(
        "lead_counts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source_ci", sa.String(length=255), nullable=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_counts")),
    )
    op.create_index(op.f("ix_lead_counts_org_id"), "lead_counts", ["org_id"], unique=False)
    op.execute(
        f"INSERT INTO lead_counts ({_COLUMNS}) "  # noqa: S608 - constants only
        "SELECT org_id, status, source_ci, count(*) FROM leads "
        "GROUP BY org_id, status, source_ci"
    )
    if op.get_bind().dialect.name == "postgresql":
        rule = f"org_id = {ORG_OF_TRANSACTION}"
        op.execute("ALTER TABLE lead_counts ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON lead_counts TO {ROLE} "
            f"USING ({rule}) WITH CHECK ({rule})"
        )
        op.execute(
            "CREATE FUNCTION lead_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_append('OLD', -1)} END IF; "
            f"IF TG_OP IN ('UPDATE', 'INSERT') THEN {_append('NEW', 1)} END IF; "
            "RETURN NULL; "
            "END $$"
        )
        op.execute(
            "CREATE TRIGGER lead_counts_track AFTER INSERT OR DELETE ON leads "
            "FOR EACH ROW EXECUTE FUNCTION lead_counts_track()"
        )
        op.execute(
            "CREATE TRIGGER lead_counts_track_update AFTER UPDATE OF status, source ON leads "
            f"FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION lead_counts_track()"
        )
    else:
        for trigger in _sqlite_triggers():
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS lead_counts_track_update ON leads")
        op.execute("DROP TRIGGER IF EXISTS lead_counts_track ON leads")
        op.execute("DROP FUNCTION IF EXISTS lead_counts_track()")
    else:
        for name in ("lead_counts_ai", "lead_counts_ad", "lead_counts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(op.f("ix_lead_counts_org_id"), table_name="lead_counts")
    op.drop_table("lead_counts")
