"""PostgreSQL row-level security on every tenant table (issue 6): a second line behind the
application's org scoping.

Requests that act in an org run as the role ``crm_tenant`` with ``crm.org_id`` set for the
transaction (``crm.core.tenancy``); the policies below let that role see and write only the
rows of that org, and nothing at all when no org is set. Link tables (assignees, tags,
teams, contacts...) have no org column: their rows are visible when the record they belong
to is. The database owner (migrations, logins, sweeps) is not subject to the policies.

SQLite has no row-level security: nothing to do there.

Revision ID: 5c1e7a2b9d40
Revises: 866390d9664c
Create Date: 2026-11-21 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e7a2b9d40"
down_revision: str | None = "866390d9664c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "crm_tenant"
ORG_OF_TRANSACTION = "NULLIF(current_setting('crm.org_id', true), '')::uuid"

TENANT_TABLES = (
    "accounts",
    "addresses",
    "api_keys",
    "api_settings",
    "attachments",
    "cases",
    "comments",
    "companies",
    "contacts",
    "documents",
    "events",
    "invoice_lines",
    "invoices",
    "lead_imports",
    "leads",
    "opportunities",
    "opportunity_items",
    "opportunity_lost_reasons",
    "outbound_emails",
    "profiles",
    "tags",
    "tasks",
    "teams",
)

# link table -> (its column naming the owning record, the owner's table)
LINK_TABLES = {
    **{
        f"{owner}_{role}": ("owner_id", owner)
        for owner, roles in (
            ("accounts", ("assignees", "contacts", "tags", "teams")),
            ("contacts", ("assignees", "tags", "teams")),
            ("documents", ("shared_to", "teams")),
            ("events", ("assignees", "contacts", "tags", "teams")),
            ("invoices", ("accounts", "assignees", "tags", "teams")),
            ("cases", ("assignees", "contacts", "tags", "teams")),
            ("leads", ("assignees", "contacts", "tags", "teams")),
            ("tasks", ("assignees", "contacts", "tags", "teams")),
            ("opportunities", ("assignees", "contacts", "tags", "teams")),
        )
        for role in roles
    },
    "api_setting_assignees": ("api_setting_id", "api_settings"),
    "api_setting_tags": ("api_setting_id", "api_settings"),
    "team_members": ("team_id", "teams"),
}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = _quoted(bind.execute(sa.text("SELECT current_schema()")).scalar_one())
    # The role is shared by every database of the cluster; create it once. A user without
    # CREATEROLE can have an administrator create it (and grant it) beforehand.
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
            CREATE ROLE {ROLE} NOLOGIN;
          END IF;
          IF NOT pg_has_role(current_user, '{ROLE}', 'MEMBER') THEN
            EXECUTE format('GRANT {ROLE} TO %I', current_user);
          END IF;
        END
        $$
        """  # noqa: S608 - module constants only, no input
    )
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {ROLE}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {ROLE}"
    )
    for table in TENANT_TABLES:
        rule = f"org_id = {ORG_OF_TRANSACTION}"
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {ROLE} "
            f"USING ({rule}) WITH CHECK ({rule})"
        )
    for table, (column, owner) in LINK_TABLES.items():
        rule = f"EXISTS (SELECT 1 FROM {owner} WHERE {owner}.id = {table}.{column})"  # noqa: S608
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {ROLE} "
            f"USING ({rule}) WITH CHECK ({rule})"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in (*TENANT_TABLES, *LINK_TABLES):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    # The role and its grants stay: other databases of the cluster may use them.
