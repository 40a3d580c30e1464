"""after class: the tutor's live notes, class reports with feedback per student, ratings

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
KINDS = ("correction", "word", "pronunciation")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    other, key = target.split(".")
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{other}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "lesson_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind", sa.Enum(*KINDS, name="note_kind", native_enum=False, length=20), nullable=False
        ),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("better", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('correction', 'word', 'pronunciation')",
            name=op.f("ck_lesson_notes_kind_known"),
        ),
        _fk("lesson_notes", "lesson_id", "lessons.id", "CASCADE"),
        _fk("lesson_notes", "author_id", "users.id", "SET NULL"),
        _fk("lesson_notes", "student_id", "users.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_notes")),
    )
    op.create_index("ix_lesson_notes_lesson_student", "lesson_notes", ["lesson_id", "student_id"])
    op.create_table(
        "lesson_reports",
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("lesson_reports", "lesson_id", "lessons.id", "CASCADE"),
        _fk("lesson_reports", "tutor_id", "users.id", "SET NULL"),
        sa.PrimaryKeyConstraint("lesson_id", name=op.f("pk_lesson_reports")),
    )
    op.create_table(
        "lesson_report_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column(
            "level", sa.Enum(*LEVELS, name="level", native_enum=False, length=20), nullable=True
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        _fk("lesson_report_entries", "lesson_id", "lesson_reports.lesson_id", "CASCADE"),
        _fk("lesson_report_entries", "student_id", "users.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_report_entries")),
        sa.UniqueConstraint(
            "lesson_id", "student_id", name="uq_lesson_report_entries_lesson_student"
        ),
    )
    op.create_index("ix_lesson_report_entries_student", "lesson_report_entries", ["student_id"])
    op.create_table(
        "lesson_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("stars >= 1 AND stars <= 5", name=op.f("ck_lesson_ratings_stars_range")),
        _fk("lesson_ratings", "lesson_id", "lessons.id", "CASCADE"),
        _fk("lesson_ratings", "student_id", "users.id", "CASCADE"),
        _fk("lesson_ratings", "tutor_id", "users.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_ratings")),
        sa.UniqueConstraint("lesson_id", "student_id", name="uq_lesson_ratings_lesson_student"),
    )
    op.create_index("ix_lesson_ratings_tutor_created", "lesson_ratings", ["tutor_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_lesson_ratings_tutor_created", table_name="lesson_ratings")
    op.drop_table("lesson_ratings")
    op.drop_index("ix_lesson_report_entries_student", table_name="lesson_report_entries")
    op.drop_table("lesson_report_entries")
    op.drop_table("lesson_reports")
    op.drop_index("ix_lesson_notes_lesson_student", table_name="lesson_notes")
    op.drop_table("lesson_notes")
