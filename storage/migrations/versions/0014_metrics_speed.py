"""metric_day: one rollup row per day and measure for everyone at once; rebuild the rollups

`/crm metrics` read one ``metric_rollup`` row per day x staff x measure (~3,900 rows for
30 days and 30 staff) and merged each person's sketches separately; ``metric_day`` holds a
day's measure for all staff in one row (:mod:`storage.rollup_packed`), and each hour of it
in another, so the partial first day of a period reads at most an hour of cycle rows. The per-staff and
per-day total rows of ``metric_rollup`` are gone; its team x source x severity rows stay.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "hour", "measure"),
    )
    from storage.rollups import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("metric_day")
    # the older code reads per-staff rows from metric_rollup: after downgrading, run
    # `crmbot db rebuild-rollups` with that code
