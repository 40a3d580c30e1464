"""seat counters on lessons

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNT = (
    "(SELECT count(*) FROM bookings WHERE bookings.lesson_id = lessons.id "
    "AND bookings.status = '{status}')"
)


def upgrade() -> None:
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("booked", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("waiting", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        f"UPDATE lessons SET booked = {COUNT.format(status='confirmed')}, "
        f"waiting = {COUNT.format(status='waitlisted')}"
    )
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "booked_within_capacity", "booked >= 0 AND booked <= capacity"
        )
        batch_op.create_check_constraint("waiting_not_negative", "waiting >= 0")


def downgrade() -> None:
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.drop_constraint("waiting_not_negative", type_="check")
        batch_op.drop_constraint("booked_within_capacity", type_="check")
        batch_op.drop_column("waiting")
        batch_op.drop_column("booked")
