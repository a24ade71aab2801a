"""Job runs: one row per firing of a scheduled job (claimed, leased, finished)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("fire_time", UTCDateTime(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("func", sa.String(), nullable=True),
        sa.Column("job_args", sa.JSON(), nullable=True),
        sa.Column("job_kwargs", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "fire_time"),
    )
    op.create_index("ix_job_run_open", "job_run", ["finished_at", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_job_run_open", table_name="job_run")
    op.drop_table("job_run")
