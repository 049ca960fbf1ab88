"""documents, shared with members and teams

Revision ID: 3b29451077ea
Revises: 5f6bf6bb3768
Create Date: 2026-11-21 14:55:43.783381
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b29451077ea"
down_revision: str | None = "5f6bf6bb3768"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["profiles.id"],
            name=op.f("fk_documents_created_by_id_profiles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_documents_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_documents_storage_key")),
    )
    op.create_index(
        "uq_documents_org_id_title_ci",
        "documents",
        ["org_id", sa.text("lower(title)")],
        unique=True,
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_documents_created_by_id"), ["created_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_documents_created_on"), ["created_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "ix_documents_org_id_status_created_on",
            ["org_id", "status", "created_on"],
            unique=False,
        )

    op.create_table(
        "documents_shared_to",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["documents.id"],
            name=op.f("fk_documents_shared_to_owner_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_documents_shared_to_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "profile_id", name=op.f("pk_documents_shared_to")),
    )
    with op.batch_alter_table("documents_shared_to", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_documents_shared_to_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "documents_teams",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["documents.id"],
            name=op.f("fk_documents_teams_owner_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_documents_teams_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", "team_id", name=op.f("pk_documents_teams")),
    )
    with op.batch_alter_table("documents_teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_teams_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("documents_teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_teams_team_id"))

    op.drop_table("documents_teams")
    with op.batch_alter_table("documents_shared_to", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_shared_to_profile_id"))

    op.drop_table("documents_shared_to")
    op.drop_index("uq_documents_org_id_title_ci", table_name="documents")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_org_id_status_created_on")
        batch_op.drop_index(batch_op.f("ix_documents_org_id"))
        batch_op.drop_index(batch_op.f("ix_documents_created_on"))
        batch_op.drop_index(batch_op.f("ix_documents_created_by_id"))

    op.drop_table("documents")
