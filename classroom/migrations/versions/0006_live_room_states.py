"""live room states: a class's hands, mutes, spotlight and lock outlive its process

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

A live class lives in one process. When that process dies, the next one restores the room
from ``live_room_states`` (one small JSON document per class), and ``lessons.ended_at``
makes an ended class refuse joins on every process.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_room_states",
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_live_room_states_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lesson_id", name=op.f("pk_live_room_states")),
    )
    op.add_column("lessons", sa.Column("ended_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lessons", schema=None) as batch_op:  # SQLite copies the table
        batch_op.drop_column("ended_at")
    op.drop_table("live_room_states")
