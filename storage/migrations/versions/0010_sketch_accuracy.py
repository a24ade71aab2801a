"""duration sketches at 0.4% relative accuracy (was 1%): rebuild the rollups

The sketches in ``metric_rollup`` are bucket keys of ddsketch's logarithmic mapping, so a
finer mapping cannot read the old keys: every rollup row is recomputed from the cycles.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0013 rebuilds every rollup row (today's rebuild also writes its metric_day table,
    # which does not exist yet here)
    pass


def downgrade() -> None:
    # the older code reads 1% keys: after downgrading, run `crmbot db rebuild-rollups`
    # with that code (nothing here can write keys of a mapping this code no longer has)
    pass
