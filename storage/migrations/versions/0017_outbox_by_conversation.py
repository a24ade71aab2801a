"""An index on outbox (conversation_id, kind)

A conversation's outbox rows were found by scanning the whole outbox: its alerts when a
claim, resolve or sentiment change redraws them, and on every ingest batch whose
conversations changed sentiment label. The outbox keeps every sent row until retention
prunes it, so that scan grew with the team's history.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_conversation", "outbox", ["conversation_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_outbox_conversation", table_name="outbox")
