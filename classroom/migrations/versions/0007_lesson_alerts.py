"""lesson alerts: the late-tutor autopilot's nudges, alerts and substitutions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lesson_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("nudge", "late", "dropped", name="alert_kind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(20), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("substitute_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_lesson_alerts_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tutor_id"],
            ["users.id"],
            name=op.f("fk_lesson_alerts_tutor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["users.id"],
            name=op.f("fk_lesson_alerts_resolved_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["substitute_id"],
            ["users.id"],
            name=op.f("fk_lesson_alerts_substitute_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_alerts")),
        sa.UniqueConstraint("lesson_id", "kind", "key", name="uq_lesson_alerts_lesson_kind_key"),
    )
    op.create_index(
        "ix_lesson_alerts_resolved_created", "lesson_alerts", ["resolved_at", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_lesson_alerts_resolved_created", table_name="lesson_alerts")
    op.drop_table("lesson_alerts")
