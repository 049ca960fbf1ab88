"""tasks, and comments/attachments on tasks

Adds the task_id parent column to comments and attachments and widens their
"exactly one parent" check to it.

Revision ID: 283a2ff305ef
Revises: 4961fe43d207
Create Date: 2026-11-21 14:46:05.749798
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

OLD_PARENTS = "(CASE WHEN account_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN lead_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN case_id IS NULL THEN 0 ELSE 1 END) = 1"
NEW_PARENTS = "(CASE WHEN account_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN lead_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN case_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN task_id IS NULL THEN 0 ELSE 1 END) = 1"


revision: str = "283a2ff305ef"
down_revision: str | None = "4961fe43d207"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_tasks_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["profiles.id"],
            name=op.f("fk_tasks_created_by_id_profiles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_tasks_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(
        "uq_tasks_org_id_title_ci", "tasks", ["org_id", sa.text("lower(title)")], unique=True
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_created_by_id"), ["created_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_created_on"), ["created_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_tasks_org_id_created_on", ["org_id", "created_on"], unique=False)
        batch_op.create_index("ix_tasks_org_id_due_date", ["org_id", "due_date"], unique=False)

    op.create_table(
        "tasks_assignees",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["tasks.id"],
            name=op.f("fk_tasks_assignees_owner_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_tasks_assignees_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "profile_id", name=op.f("pk_tasks_assignees")),
    )
    with op.batch_alter_table("tasks_assignees", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasks_assignees_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "tasks_contacts",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_tasks_contacts_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["tasks.id"],
            name=op.f("fk_tasks_contacts_owner_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "contact_id", name=op.f("pk_tasks_contacts")),
    )
    with op.batch_alter_table("tasks_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasks_contacts_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "tasks_tags",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["tasks.id"],
            name=op.f("fk_tasks_tags_owner_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_tasks_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner_id", "tag_id", name=op.f("pk_tasks_tags")),
    )
    with op.batch_alter_table("tasks_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_tags_tag_id"), ["tag_id"], unique=False)

    op.create_table(
        "tasks_teams",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["tasks.id"],
            name=op.f("fk_tasks_teams_owner_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_tasks_teams_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner_id", "team_id", name=op.f("pk_tasks_teams")),
    )
    with op.batch_alter_table("tasks_teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_teams_team_id"), ["team_id"], unique=False)

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_attachments_task_id"), ["task_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_attachments_task_id_tasks"),
            "tasks",
            ["task_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(op.f("ck_attachments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_attachments_one_parent"), NEW_PARENTS)

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_comments_task_id"), ["task_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_comments_task_id_tasks"),
            "tasks",
            ["task_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(op.f("ck_comments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_comments_one_parent"), NEW_PARENTS)


def downgrade() -> None:
    op.execute("DELETE FROM comments WHERE task_id IS NOT NULL")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_comments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_comments_one_parent"), OLD_PARENTS)
        batch_op.drop_constraint(batch_op.f("fk_comments_task_id_tasks"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_comments_task_id"))
        batch_op.drop_column("task_id")

    op.execute("DELETE FROM attachments WHERE task_id IS NOT NULL")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attachments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_attachments_one_parent"), OLD_PARENTS)
        batch_op.drop_constraint(batch_op.f("fk_attachments_task_id_tasks"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_attachments_task_id"))
        batch_op.drop_column("task_id")

    with op.batch_alter_table("tasks_teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_teams_team_id"))

    op.drop_table("tasks_teams")
    with op.batch_alter_table("tasks_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_tags_tag_id"))

    op.drop_table("tasks_tags")
    with op.batch_alter_table("tasks_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_contacts_contact_id"))

    op.drop_table("tasks_contacts")
    with op.batch_alter_table("tasks_assignees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_assignees_profile_id"))

    op.drop_table("tasks_assignees")
    op.drop_index("uq_tasks_org_id_title_ci", table_name="tasks")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_org_id_due_date")
        batch_op.drop_index("ix_tasks_org_id_created_on")
        batch_op.drop_index(batch_op.f("ix_tasks_org_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_created_on"))
        batch_op.drop_index(batch_op.f("ix_tasks_created_by_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_account_id"))

    op.drop_table("tasks")
