"""attendance records: time present per span, each class's statuses once it is over

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("present", "late", "left_early", "no_show")


def _status(name: str) -> sa.Enum:
    return sa.Enum(*STATUSES, name=name, native_enum=False, length=20)


def upgrade() -> None:
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("present_seconds", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("span_started_at", sa.DateTime(), nullable=True))
    op.create_table(
        "attendance_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("status", _status("attendance_status"), nullable=False),
        sa.Column("minutes_present", sa.Integer(), nullable=False),
        sa.Column("minutes_late", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_attendance_records_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_attendance_records_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_records")),
        sa.UniqueConstraint("lesson_id", "user_id", name="uq_attendance_records_lesson_user"),
    )
    op.create_index(
        "ix_attendance_records_user_lesson", "attendance_records", ["user_id", "lesson_id"]
    )
    op.create_table(
        "attendance_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("before", _status("attendance_before"), nullable=False),
        sa.Column("after", _status("attendance_after"), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("corrected_by", sa.Integer(), nullable=True),
        sa.Column("corrected_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["attendance_records.id"],
            name=op.f("fk_attendance_corrections_record_id_attendance_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by"],
            ["users.id"],
            name=op.f("fk_attendance_corrections_corrected_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_corrections")),
    )
    op.create_index(
        op.f("ix_attendance_corrections_record_id"), "attendance_corrections", ["record_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_attendance_corrections_record_id"), table_name="attendance_corrections")
    op.drop_table("attendance_corrections")
    op.drop_index("ix_attendance_records_user_lesson", table_name="attendance_records")
    op.drop_table("attendance_records")
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_column("span_started_at")
        batch_op.drop_column("present_seconds")
