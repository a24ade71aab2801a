"""Replicas: dispatch leases, accepted config versions, outbox index for the post budget

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_lease",
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("destination", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("platform", "destination"),
    )
    op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("published_by", sa.String(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_destination_sent", "outbox", ["platform", "destination", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_destination_sent", table_name="outbox")
    op.drop_table("config_version")
    op.drop_table("dispatch_lease")
