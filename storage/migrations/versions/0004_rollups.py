"""metric rollups (per day x team x source x severity, per day x staff) and backfill

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "staff_id", "team", "source", "severity", "measure"),
    )
    op.create_index("ix_metric_rollup_day_staff", "metric_rollup", ["day", "staff_id"])
    op.create_index(
        "ix_cycle_reopened",
        "cycle",
        ["received_at", "previous_received_at"],
        sqlite_where=sa.text("n > 1"),
        postgresql_where=sa.text("n > 1"),
    )
    op.create_index("ix_cycle_received_n", "cycle", ["received_at", "n"])
    # Backfill from what is already recorded: 0013 rebuilds every rollup row (with the
    # code of today, which also writes its metric_day table).


def downgrade() -> None:
    op.drop_index("ix_cycle_received_n", table_name="cycle")
    op.drop_index("ix_cycle_reopened", table_name="cycle")
    op.drop_index("ix_metric_rollup_day_staff", table_name="metric_rollup")
    op.drop_table("metric_rollup")
