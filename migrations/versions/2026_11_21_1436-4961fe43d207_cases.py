"""cases, and comments/attachments on cases

Adds the case_id parent column to comments and attachments and widens their
"exactly one parent" check to it.

Revision ID: 4961fe43d207
Revises: d51c043890c6
Create Date: 2026-11-21 14:36:05.182959
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

OLD_PARENTS = "(CASE WHEN account_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN lead_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) = 1"
NEW_PARENTS = "(CASE WHEN account_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN lead_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN case_id IS NULL THEN 0 ELSE 1 END) = 1"


revision: str = "4961fe43d207"
down_revision: str | None = "d51c043890c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("case_type", sa.String(length=64), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_cases_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["profiles.id"],
            name=op.f("fk_cases_created_by_id_profiles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_cases_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(
        "uq_cases_org_id_name_ci", "cases", ["org_id", sa.text("lower(name)")], unique=True
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_created_by_id"), ["created_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_created_on"), ["created_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_cases_org_id_created_on", ["org_id", "created_on"], unique=False)
        batch_op.create_index(
            "ix_cases_org_id_status_created_on", ["org_id", "status", "created_on"], unique=False
        )

    op.create_table(
        "cases_assignees",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["cases.id"],
            name=op.f("fk_cases_assignees_owner_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_cases_assignees_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "profile_id", name=op.f("pk_cases_assignees")),
    )
    with op.batch_alter_table("cases_assignees", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cases_assignees_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "cases_contacts",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_cases_contacts_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["cases.id"],
            name=op.f("fk_cases_contacts_owner_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "contact_id", name=op.f("pk_cases_contacts")),
    )
    with op.batch_alter_table("cases_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cases_contacts_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "cases_tags",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["cases.id"],
            name=op.f("fk_cases_tags_owner_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_cases_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner_id", "tag_id", name=op.f("pk_cases_tags")),
    )
    with op.batch_alter_table("cases_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_tags_tag_id"), ["tag_id"], unique=False)

    op.create_table(
        "cases_teams",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["cases.id"],
            name=op.f("fk_cases_teams_owner_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_cases_teams_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner_id", "team_id", name=op.f("pk_cases_teams")),
    )
    with op.batch_alter_table("cases_teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_teams_team_id"), ["team_id"], unique=False)

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_attachments_case_id"), ["case_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_attachments_case_id_cases"),
            "cases",
            ["case_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(op.f("ck_attachments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_attachments_one_parent"), NEW_PARENTS)

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_comments_case_id"), ["case_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_comments_case_id_cases"),
            "cases",
            ["case_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(op.f("ck_comments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_comments_one_parent"), NEW_PARENTS)


def downgrade() -> None:
    op.execute("DELETE FROM comments WHERE case_id IS NOT NULL")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_comments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_comments_one_parent"), OLD_PARENTS)
        batch_op.drop_constraint(batch_op.f("fk_comments_case_id_cases"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_comments_case_id"))
        batch_op.drop_column("case_id")

    op.execute("DELETE FROM attachments WHERE case_id IS NOT NULL")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attachments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_attachments_one_parent"), OLD_PARENTS)
        batch_op.drop_constraint(batch_op.f("fk_attachments_case_id_cases"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_attachments_case_id"))
        batch_op.drop_column("case_id")

    with op.batch_alter_table("cases_teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_teams_team_id"))

    op.drop_table("cases_teams")
    with op.batch_alter_table("cases_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_tags_tag_id"))

    op.drop_table("cases_tags")
    with op.batch_alter_table("cases_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_contacts_contact_id"))

    op.drop_table("cases_contacts")
    with op.batch_alter_table("cases_assignees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_assignees_profile_id"))

    op.drop_table("cases_assignees")
    op.drop_index("uq_cases_org_id_name_ci", table_name="cases")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_org_id_status_created_on")
        batch_op.drop_index("ix_cases_org_id_created_on")
        batch_op.drop_index(batch_op.f("ix_cases_org_id"))
        batch_op.drop_index(batch_op.f("ix_cases_created_on"))
        batch_op.drop_index(batch_op.f("ix_cases_created_by_id"))
        batch_op.drop_index(batch_op.f("ix_cases_account_id"))

    op.drop_table("cases")
