"""events, and comments/attachments on events

Adds the event_id parent column to comments and attachments and widens their
"exactly one parent" check to it.

Revision ID: 5f6bf6bb3768
Revises: 283a2ff305ef
Create Date: 2026-11-21 14:50:41.270740
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

OLD_PARENTS = "(CASE WHEN account_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN lead_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN case_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN task_id IS NULL THEN 0 ELSE 1 END) = 1"
NEW_PARENTS = "(CASE WHEN account_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN lead_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN case_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN task_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN event_id IS NULL THEN 0 ELSE 1 END) = 1"


revision: str = "5f6bf6bb3768"
down_revision: str | None = "283a2ff305ef"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=True),
        sa.Column("recurring_days", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["profiles.id"],
            name=op.f("fk_events_created_by_id_profiles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_events_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(
        "uq_events_org_id_name_ci", "events", ["org_id", sa.text("lower(name)")], unique=True
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_created_by_id"), ["created_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_events_created_on"), ["created_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_events_org_id_created_on", ["org_id", "created_on"], unique=False)
        batch_op.create_index(
            "ix_events_org_id_start_date_end_date",
            ["org_id", "start_date", "end_date"],
            unique=False,
        )

    op.create_table(
        "events_assignees",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["events.id"],
            name=op.f("fk_events_assignees_owner_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_events_assignees_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "profile_id", name=op.f("pk_events_assignees")),
    )
    with op.batch_alter_table("events_assignees", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_assignees_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "events_contacts",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_events_contacts_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["events.id"],
            name=op.f("fk_events_contacts_owner_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "contact_id", name=op.f("pk_events_contacts")),
    )
    with op.batch_alter_table("events_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_contacts_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "events_tags",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["events.id"],
            name=op.f("fk_events_tags_owner_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_events_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner_id", "tag_id", name=op.f("pk_events_tags")),
    )
    with op.batch_alter_table("events_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_tags_tag_id"), ["tag_id"], unique=False)

    op.create_table(
        "events_teams",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["events.id"],
            name=op.f("fk_events_teams_owner_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_events_teams_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "team_id", name=op.f("pk_events_teams")),
    )
    with op.batch_alter_table("events_teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_teams_team_id"), ["team_id"], unique=False)

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_attachments_event_id"), ["event_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_attachments_event_id_events"),
            "events",
            ["event_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(op.f("ck_attachments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_attachments_one_parent"), NEW_PARENTS)

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_comments_event_id"), ["event_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_comments_event_id_events"),
            "events",
            ["event_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(op.f("ck_comments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_comments_one_parent"), NEW_PARENTS)


def downgrade() -> None:
    op.execute("DELETE FROM comments WHERE event_id IS NOT NULL")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_comments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_comments_one_parent"), OLD_PARENTS)
        batch_op.drop_constraint(batch_op.f("fk_comments_event_id_events"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_comments_event_id"))
        batch_op.drop_column("event_id")

    op.execute("DELETE FROM attachments WHERE event_id IS NOT NULL")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attachments_one_parent"), type_="check")
        batch_op.create_check_constraint(op.f("ck_attachments_one_parent"), OLD_PARENTS)
        batch_op.drop_constraint(batch_op.f("fk_attachments_event_id_events"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_attachments_event_id"))
        batch_op.drop_column("event_id")

    with op.batch_alter_table("events_teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_teams_team_id"))

    op.drop_table("events_teams")
    with op.batch_alter_table("events_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_tags_tag_id"))

    op.drop_table("events_tags")
    with op.batch_alter_table("events_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_contacts_contact_id"))

    op.drop_table("events_contacts")
    with op.batch_alter_table("events_assignees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_assignees_profile_id"))

    op.drop_table("events_assignees")
    op.drop_index("uq_events_org_id_name_ci", table_name="events")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_org_id_start_date_end_date")
        batch_op.drop_index("ix_events_org_id_created_on")
        batch_op.drop_index(batch_op.f("ix_events_org_id"))
        batch_op.drop_index(batch_op.f("ix_events_created_on"))
        batch_op.drop_index(batch_op.f("ix_events_created_by_id"))

    op.drop_table("events")
