"""lecturer rates: what each tutor is paid per hour or per class, from a date on

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lecturer_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=False),
        sa.Column(
            "unit",
            sa.Enum("hour", "class", name="rate_unit", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_lecturer_rates_amount_positive")),
        sa.ForeignKeyConstraint(
            ["tutor_id"],
            ["users.id"],
            name=op.f("fk_lecturer_rates_tutor_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_lecturer_rates_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lecturer_rates")),
    )
    op.create_index(
        "ix_lecturer_rates_tutor_effective", "lecturer_rates", ["tutor_id", "effective_from"]
    )


def downgrade() -> None:
    op.drop_index("ix_lecturer_rates_tutor_effective", table_name="lecturer_rates")
    op.drop_table("lecturer_rates")
