"""posted_alert.thread_ref: where an alert's thread is (a channel of its own on Discord)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posted_alert") as batch:
        batch.add_column(sa.Column("thread_ref", sa.String(), nullable=True))
    # Slack alerts posted so far: the thread is the message itself.
    op.execute("UPDATE posted_alert SET thread_ref = message_ref WHERE thread_ref IS NULL")
    op.create_index(
        "ix_posted_alert_thread", "posted_alert", ["platform", "destination", "thread_ref"]
    )


def downgrade() -> None:
    op.drop_index("ix_posted_alert_thread", table_name="posted_alert")
    with op.batch_alter_table("posted_alert") as batch:
        batch.drop_column("thread_ref")
