"""speaking times: each person's speaking seconds, turns and longest silence per class

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "speaking_times",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("longest_silence", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "seconds >= 0 AND turns >= 0 AND longest_silence >= 0",
            name=op.f("ck_speaking_times_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_speaking_times_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_speaking_times_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speaking_times")),
        sa.UniqueConstraint("lesson_id", "user_id", name="uq_speaking_times_lesson_user"),
    )
    op.create_index("ix_speaking_times_user_lesson", "speaking_times", ["user_id", "lesson_id"])


def downgrade() -> None:
    op.drop_index("ix_speaking_times_user_lesson", table_name="speaking_times")
    op.drop_table("speaking_times")
