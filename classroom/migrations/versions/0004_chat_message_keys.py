"""chat message keys: a message sent twice is stored once

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key", sa.String(64), nullable=True))
        batch_op.create_unique_constraint(
            "uq_chat_messages_lesson_user_key", ["lesson_id", "user_id", "client_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_chat_messages_lesson_user_key", type_="unique")
        batch_op.drop_column("client_key")
