"""The console shows whole answers at the terminal's width: long cells wrap, never cut."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from bot.chat.console import ConsoleAdapter
from bot.demo import seed_knowledge_base
from handlers.replies import Reply, Table
from tests.conftest import BotHarness, mention

_BAR = re.compile(r"[│┃]")


def render(reply: Reply, width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, highlight=False, color_system=None)
    ConsoleAdapter(console).show_reply(reply)
    return out.getvalue()


def column_text(rendered: str, index: int) -> str:
    """One column of a rendered table, its wrapped pieces joined, spacing normalised."""
    pieces = []
    for line in rendered.splitlines():
        cells = _BAR.split(line)
        if len(cells) > index + 2:  # border │ cell │ cell ... │ border
            pieces.append(cells[index + 1].strip())
    return " ".join(" ".join(pieces).split())


@pytest.mark.parametrize("width", [80, 120])
def test_help_shows_the_whole_metrics_syntax(harness: BotHarness, width: int) -> None:
    shown = render(harness.exec("help"), width)
    assert all(len(line) <= width for line in shown.splitlines())
    commands = column_text(shown, 0)
    assert "/crm metrics [7d|30d|...] [team:NAME] [source:NAME]" in commands
    assert "…" not in shown
    summaries = column_text(shown, 1)
    assert "times, SLA, per staff; also @user, bh (business hours), chart" in summaries


@pytest.mark.parametrize("width", [80, 120])
def test_show_and_kb_text_is_complete(harness: BotHarness, width: int) -> None:
    note = (
        "Sorry about the double charge on the Black Friday deal: we refunded the second "
        "payment today, it shows on your statement within 3-5 business days. Ticket 48213."
    )
    harness.bot.ingest([mention("charged twice!")])
    harness.say(f"reply 1 {note}", "ana")
    shown = render(harness.exec("show 1"), width)
    assert note in column_text(shown, 3)
    assert all(len(line) <= width for line in shown.splitlines())
    stamp = harness.exec("show 1").tables[0].rows[0][0]
    assert stamp in shown  # times and ids never wrap

    assert seed_knowledge_base(harness.bot) > 0
    reply = harness.exec("kb refund")
    shown = render(reply, width)
    texts = [row[4] for row in reply.tables[0].rows]
    assert texts and all(len(t) > 48 for t in texts)
    replies = column_text(shown, 4)
    for text in texts:
        assert " ".join(text.split()) in replies
    for row in reply.tables[0].rows:
        assert row[2] in shown  # votes like +0/-0 stay on one line


def test_a_table_of_numbers_too_wide_for_the_terminal_wraps_instead_of_cutting() -> None:
    columns = tuple(f"first response p90 {n}" for n in range(8))
    rows = (tuple(f"{n}h 25m" for n in range(8)), tuple(f"#{n}0234" for n in range(8)))
    reply = Reply("per staff", tables=(Table("Times", columns, rows),))
    shown = render(reply, 60)
    assert all(len(line) <= 60 for line in shown.splitlines())
    for n in range(8):  # folded to the column's width, every character still there
        column = column_text(shown, n).replace(" ", "")
        assert f"{n}h25m" in column and f"#{n}0234" in column
    assert "12h 25m" in render(Reply("", tables=(Table("T", ("age",), (("12h 25m",),)),)), 60)
