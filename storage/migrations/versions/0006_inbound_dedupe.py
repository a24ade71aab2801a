"""inbound deliveries already acted on (chat event / interaction ids), for exactly-once actions

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_delivery",
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("platform", "key"),
    )
    op.create_index("ix_inbound_delivery_created_at", "inbound_delivery", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_delivery_created_at", table_name="inbound_delivery")
    op.drop_table("inbound_delivery")
