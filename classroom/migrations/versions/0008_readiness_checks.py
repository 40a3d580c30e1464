"""readiness checks: each person's setup check (devices, the path to the server, a measure)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

The coordinators see, before each class, the booked people whose last check failed, is old
or was never run (classroom/readiness.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "readiness_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("mic", sa.String(10), nullable=False),
        sa.Column("camera", sa.String(10), nullable=False),
        sa.Column("stun", sa.String(10), nullable=False),
        sa.Column("turn", sa.String(10), nullable=False),
        sa.Column("udp", sa.String(10), nullable=False),
        sa.Column("relay", sa.String(10), nullable=False),
        sa.Column("rtt_ms", sa.Integer(), nullable=True),
        sa.Column("loss", sa.Float(), nullable=True),
        sa.Column("down_kbps", sa.Integer(), nullable=True),
        sa.Column("up_kbps", sa.Integer(), nullable=True),
        sa.Column("browser", sa.String(200), nullable=False),
        sa.CheckConstraint(
            "verdict IN ('ok', 'warn', 'failed')", name=op.f("ck_readiness_checks_verdict_known")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_readiness_checks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readiness_checks")),
    )
    op.create_index(
        "ix_readiness_checks_user_checked", "readiness_checks", ["user_id", "checked_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_readiness_checks_user_checked", table_name="readiness_checks")
    op.drop_table("readiness_checks")
