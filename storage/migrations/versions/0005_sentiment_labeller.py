"""which labeller decided a sentiment: offline, or a model's name

Existing rows were labelled offline; the server default says so and stays (harmless).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("mention", "conversation")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "sentiment_by",
                    sqlmodel.sql.sqltypes.AutoString(),
                    nullable=False,
                    server_default="offline",
                )
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("sentiment_by")
