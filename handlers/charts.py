"""PNG charts for managers (matplotlib, Agg backend): volume and sentiment per day,
response-time trend, per-staff load."""

from __future__ import annotations

import io
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from handlers.metrics_sla import nearest_rank
from storage.metrics_cycles import CycleRow, per_day


def overview_png(rows: list[CycleRow], names: dict[int, str], title: str) -> bytes:
    """Three panels: conversations and mean sentiment per day, median first response and
    resolution per day (minutes), conversation cycles handled per staff member."""
    days = per_day(rows)
    x: list[date] = list(days)
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(8, 9))
    try:
        ax1.bar(x, [len(days[d]) for d in x], color="#4c78a8", label="conversations")
        ax1.set_ylabel("conversations")
        ax1.set_title(title)
        twin = ax1.twinx()
        twin.plot(
            x, [sum(r.sentiment for r in days[d]) / len(days[d]) for d in x], "o-", color="#e45756"
        )
        twin.set_ylabel("mean sentiment")
        twin.set_ylim(-1, 1)
        for attr, label in (
            ("first_response_s", "first response p50"),
            ("resolution_s", "resolution p50"),
        ):
            medians = [
                nearest_rank([v for r in days[d] if (v := getattr(r, attr)) is not None], 0.5)
                for d in x
            ]
            ax2.plot(
                x, [m / 60 if m is not None else float("nan") for m in medians], "o-", label=label
            )
        ax2.set_ylabel("minutes")
        ax2.legend(loc="upper left")
        load: dict[str, int] = {}
        for row in rows:
            for staff in row.handled_by:
                who = "@" + names.get(staff, str(staff))
                load[who] = load.get(who, 0) + 1
        people = sorted(load, key=lambda k: -load[k])[:15]
        ax3.barh(people[::-1], [load[p] for p in people[::-1]], color="#54a24b")
        ax3.set_xlabel("conversation cycles handled")
        fig.autofmt_xdate()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()
    finally:
        plt.close(fig)
