"""The manager's chart, read from the matplotlib Figure before it becomes a PNG: titles,
dated time axes that line up, legends, human units, the SLA lines, per-staff load."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from sqlmodel import select

from bot.app import CrmBot
from handlers.clock import FakeClock
from handlers.reports import chart_figure
from storage.models import Staff
from tests.conftest import TEST_CONFIG, BotHarness, RecordingAdapter, make_config, mention
from tests.test_metrics import _work

PNG = b"\x89PNG\r\n\x1a\n"
SLA = '\n[sla.high]\nfirst_response = "15m"\nresolution = "2h"\n'


@pytest.fixture
def sla_harness(database_url: str, clock: FakeClock) -> Iterator[BotHarness]:
    adapter = RecordingAdapter()
    bot = CrmBot(database_url, make_config(TEST_CONFIG + SLA), [adapter], clock=clock)
    yield BotHarness(bot, adapter, clock)
    bot.ingestor.close()
    bot.db.dispose()


def _two_days(h: BotHarness) -> None:
    """Mon 2 Mar: two outages (ana 10m/3h, ben 20m/5h); Tue 3 Mar: one (ana 30m/1h).
    The chart is drawn on Wed 4 Mar at noon."""
    h.bot.ingest(
        [mention("site down", author_handle="a"), mention("down again", author_handle="b")]
    )
    _work(h, 1, "ana", 1, 10, 180)
    _work(h, 2, "ben", 2, 20, 300)
    h.clock.advance(days=1)
    h.bot.ingest([mention("outage?", author_handle="c")])
    _work(h, 3, "ana", 1, 30, 60)
    h.clock.set(datetime(2026, 3, 4, 12, 0, tzinfo=UTC))


def _panels(fig: Figure) -> dict[str, Axes]:
    """The panels by title (the sentiment twin axis has no title of its own)."""
    return {ax.get_title(loc="left"): ax for ax in fig.axes if ax.get_title(loc="left")}


def _line(ax: Axes, label: str) -> Line2D:
    return next(line for line in ax.get_lines() if line.get_label() == label)


def _legend(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def _ys(line: Line2D) -> list[float | None]:
    ys = [float(y) for y in np.asarray(line.get_ydata(), dtype=float)]
    return [None if math.isnan(y) else round(y, 6) for y in ys]


def test_the_chart_a_manager_reads(sla_harness: BotHarness) -> None:
    _two_days(sla_harness)
    fig, label, cycles = chart_figure(sla_harness.bot.ctx, "7d")
    fig.draw_without_rendering()
    assert (label, cycles) == ("7d", 3)
    assert fig.get_suptitle() == "Last 7d: 25 Feb to 04 Mar 2026 (UTC)"
    panels = _panels(fig)
    assert list(panels) == [
        "Conversations per day and mean sentiment",
        "First response time by day received (minutes)",
        "Resolution time by day received (hours)",
        "Load per staff: conversation cycles handled",
    ]
    volume, first, resolution, load = panels.values()

    # Every time axis is labelled with the dates, the same ones, whole days 25 Feb - 4 Mar.
    days = [date(2026, 2, 25) + timedelta(days=i) for i in range(8)]
    expected = [f"{d:%a %d %b}" for d in days]
    for ax in (volume, first, resolution):
        assert [t.get_text() for t in ax.get_xticklabels()] == expected
        assert ax.get_xlabel() == "day received"
    # Aligned panels: same left and right edges.
    edges = {
        (round(ax.get_position().x0, 3), round(ax.get_position().x1, 3)) for ax in panels.values()
    }
    assert len(edges) == 1

    # Volume: bars per day, and a legend telling bars from the sentiment line.
    bars = [p for p in volume.patches if isinstance(p, Rectangle)]
    assert [round(p.get_height()) for p in bars] == [0, 0, 0, 0, 0, 2, 1, 0]
    assert volume.get_ylabel() == "conversations"
    twin = next(ax for ax in fig.axes if ax.get_ylabel() == "mean sentiment (-1 to +1)")
    assert _legend(twin) == ["conversations (bars)", "mean sentiment (line, right axis)"]
    sentiment = _ys(_line(twin, "mean sentiment (line, right axis)"))
    assert sentiment[:5] == [None] * 5 and sentiment[5] is not None and sentiment[7] is None

    # First response in minutes: medians 10m (Mon), 30m (Tue); SLA 15m as a dashed line.
    assert first.get_ylabel() == "minutes"
    assert _legend(first) == ["p90", "median", "SLA for high: 15m"]
    assert _ys(_line(first, "median")) == [None] * 5 + [10.0, 30.0, None]
    assert _ys(_line(first, "p90")) == [None] * 5 + [20.0, 30.0, None]
    sla_line = _line(first, "SLA for high: 15m")
    assert sla_line.get_linestyle() == "--" and set(_ys(sla_line)) == {15.0}

    # Resolution in hours: 3h (Mon), 1h (Tue); SLA 2h.
    assert resolution.get_ylabel() == "hours"
    assert _ys(_line(resolution, "median")) == [None] * 5 + [3.0, 1.0, None]
    assert set(_ys(_line(resolution, "SLA for high: 2h 00m"))) == {2.0}

    # Per-staff load: horizontal bars, busiest at the top, with the totals written on them.
    assert [t.get_text() for t in load.get_yticklabels()] == ["@ben", "@ana"]
    assert load.get_xlabel() == "conversation cycles"
    assert _legend(load) == ["resolved by them", "other work on it"]
    totals = [t.get_text() for t in load.texts]
    assert totals == ["1", "2"]


def test_long_periods_keep_dated_ticks_and_days_become_the_unit(sla_harness: BotHarness) -> None:
    sla_harness.bot.ingest([mention("site down", author_handle="a")])
    _work(sla_harness, 1, "ana", 1, 60 * 30, 60 * 24 * 3)  # replied after 30h, resolved after 3d
    sla_harness.clock.advance(days=4)
    fig, _label, _cycles = chart_figure(sla_harness.bot.ctx, "30d")
    fig.draw_without_rendering()
    panels = _panels(fig)
    for title in list(panels)[:3]:
        labels = [t.get_text() for t in panels[title].get_xticklabels()]
        assert 3 <= len(labels) <= 11
        for text in labels:  # "06 Feb": a day and a month
            datetime.strptime(f"{text} 2026", "%d %b %Y")
    assert panels["First response time by day received (hours)"].get_ylabel() == "hours"
    assert panels["Resolution time by day received (days)"].get_ylabel() == "days"


def test_no_sla_configured_draws_no_sla_line(harness: BotHarness) -> None:
    _two_days(harness)
    fig, _label, _cycles = chart_figure(harness.bot.ctx, "7d")
    for ax in fig.axes:
        assert not [ln for ln in ax.get_lines() if str(ln.get_label()).startswith("SLA")]


def test_chart_and_report_png(sla_harness: BotHarness) -> None:
    _two_days(sla_harness)
    reply = sla_harness.exec("chart 7d")
    (png,) = reply.attachments
    assert reply.text == "Charts for the last 7d: 3 conversation cycles."
    assert png.mime == "image/png" and png.data.startswith(PNG) and len(png.data) > 20_000


def test_a_persons_chart_covers_what_they_worked_on(sla_harness: BotHarness) -> None:
    _two_days(sla_harness)
    reply = sla_harness.exec("metrics 7d @ben chart")
    (png,) = reply.attachments
    assert png.data.startswith(PNG)
    ben = next(s for s in _staff(sla_harness) if s.name == "ben")
    fig, _label, cycles = chart_figure(sla_harness.bot.ctx, "7d", staff=ben)
    assert cycles == 1
    assert fig.get_suptitle() == "Last 7d, worked on by @ben: 25 Feb to 04 Mar 2026 (UTC)"
    load = _panels(fig)["Load per staff: conversation cycles handled"]
    assert [t.get_text() for t in load.get_yticklabels()] == ["@ben"]


def _staff(h: BotHarness) -> list[Staff]:
    with h.bot.db.session() as session:
        return list(session.exec(select(Staff)))
