"""The ``metric_rollup`` and ``metric_day`` tables (what their rows mean:
:mod:`storage.rollups`).

They live apart from :mod:`storage.rollups` so that :mod:`storage.models` can register them
without importing the rollup code, which itself reads ``cycle`` and ``handling_event``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class MetricRollup(SQLModel, table=True):
    """Count, sum and sketch of one measure for one day and key (see the module doc)."""

    __tablename__ = "metric_rollup"
    __table_args__ = (
        UniqueConstraint("day", "staff_id", "team", "source", "severity", "measure"),
        Index("ix_metric_rollup_day_staff", "day", "staff_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
    staff_id: int = 0
    team: str = ""
    source: str = ""
    severity: str = ""
    measure: str
    count: int = 0
    total: float = 0.0
    sketch: bytes = Field(default=b"", sa_type=LargeBinary())


class MetricDay(SQLModel, table=True):
    """One measure on one received day (``hour`` -1) or one hour of it (``hour`` 0-23) for
    everyone at once (see :mod:`storage.rollups`): ``count`` for the day counters
    (``cycles``, ``conversations``), ``data`` for the rest."""

    __tablename__ = "metric_day"
    __table_args__ = (UniqueConstraint("day", "hour", "measure"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    hour: int = -1
    measure: str
    count: int = 0
    data: bytes = Field(default=b"", sa_type=LargeBinary())
