"""The console adapter: alerts and answers in the terminal with rich (like errbot's text backend)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from bot.chat.base import Capabilities, ChatAdapter, PostedRef
from bot.paths import exports_dir
from handlers.cards import (
    AlertCard,
    Card,
    DigestCard,
    FollowUpCard,
    NoticeCard,
    ReplyCard,
    StatusCard,
    SuggestionCard,
)
from handlers.ids import reply_ref, suggestion_ref
from handlers.influence import followers_text, tier
from handlers.platform_names import platform_name
from handlers.replies import Attachment, Reply, Table

SEVERITY_STYLE = {"low": "dim", "normal": "cyan", "high": "bold yellow", "critical": "bold red"}
SENTIMENT_STYLE = {"negative": "red", "neutral": "white", "positive": "green"}


class ConsoleAdapter(ChatAdapter):
    """Prints to a rich Console; every named channel is shown, prefixed with its name."""

    platform = "console"
    # a terminal scrolls: nothing is edited in place or threaded, every state is printed
    capabilities = Capabilities(threads=False, edits=False, ephemeral=False, files=True)

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self._refs = itertools.count(1)

    async def post(self, destination: str, card: Card, thread: PostedRef | None) -> PostedRef:
        ref = PostedRef(f"console-{next(self._refs)}")
        if isinstance(card, AlertCard):
            self.console.print(render_alert(destination, card))
        elif isinstance(card, FollowUpCard):
            self.console.print(render_followup(destination, card))
        elif isinstance(card, StatusCard):
            self.console.print(render_status(destination, card))
        elif isinstance(card, NoticeCard):
            self.console.print(Text(f"[#{destination}] {card.text}"))
        elif isinstance(card, DigestCard):
            self.console.print(render_digest(destination, card))
        elif isinstance(card, SuggestionCard):
            self.console.print(render_suggestion(destination, card))
        elif isinstance(card, ReplyCard):
            self.console.print(render_reply(destination, card))
        else:
            raise TypeError(f"the console cannot show a {type(card).__name__}")
        return ref

    async def update(
        self, destination: str, posted: PostedRef, alert: AlertCard | None, status: StatusCard
    ) -> None:
        self.console.print(render_status(destination, status))

    def show_reply(self, reply: Reply) -> None:
        """Print a command's answer at the terminal's width: long cells wrap, never cut."""
        self.console.print(Text(reply.text))
        for table in reply.tables:
            self.console.print(render_table(table, self.console.width))
        for attachment in reply.attachments:
            self.console.print(Text(f"attachment: {save_attachment(attachment)}"))


# ids, numbers, durations, times and handles: short tokens that must stay on one line
_ATOM = re.compile(
    r"^[#@]?[\w.,:%+\-/()$€£~<>=]*$"  # #12, @ana, 87%, +3/-1, 1.2k
    r"|^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?$"  # 2026-03-02 09:00:00
    r"|^\d+[wdhms]( \d+[wdhms])*$"  # 12h 25m
)
_ATOM_MAX = 24
_MIN_TEXT = 12  # narrowest useful width of a wrapping column


def render_table(table: Table, width: int) -> RichTable:
    """A reply's table for a terminal ``width`` columns wide: text columns wrap (``fold``
    breaks words longer than the column); columns of ids, numbers and times stay on one
    line while they fit, and wrap too when even they do not."""
    atomic = [
        all(len(cell) <= _ATOM_MAX and _ATOM.match(cell) for cell in cells)
        for cells in zip(*table.rows, strict=False)
    ] or [False] * len(table.columns)
    atomic += [False] * (len(table.columns) - len(atomic))
    needed = 1 + sum(
        3 + max([len(column), *(len(row[i]) for row in table.rows if i < len(row))])
        if atomic[i]
        else 3 + _MIN_TEXT
        for i, column in enumerate(table.columns)
    )
    keep_whole = needed <= width
    rich_table = RichTable(title=table.title, title_justify="left", expand=False)
    for index, column in enumerate(table.columns):
        if keep_whole and atomic[index]:
            rich_table.add_column(Text(column), no_wrap=True)
        else:
            rich_table.add_column(Text(column), overflow="fold")
    for row in table.rows:
        rich_table.add_row(*(Text(cell) for cell in row))
    return rich_table


def save_attachment(attachment: Attachment, folder: Path | None = None) -> Path:
    """Write an answer's file under ``folder`` (default: the user's exports folder) and
    return its path."""
    target = (folder or exports_dir()) / Path(attachment.filename).name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(attachment.data)
    return target.resolve()


def render_alert(channel: str, card: AlertCard) -> Panel:
    """An alert as a panel: who, how loud, how they feel, what they said, where."""
    body = Text()
    if card.escalation:
        pings = " ".join(f"@{ping.name}" for ping in card.ping_list())
        body.append(f"⚠ {card.escalation} {pings}".rstrip() + "\n", style="bold red")
    if card.platform == "crm":
        body.append(f"{card.author_name or 'CRM'}", style="bold")
        body.append(f" · {card.source}\n")
    else:
        body.append(f"@{card.author_handle}", style="bold")
        if card.author_name:
            body.append(f" ({card.author_name})")
        body.append(
            f" · {followers_text(card.followers)} followers · influence {card.influence:.0f}"
            f" ({tier(card.influence)})\n"
        )
        body.append("sentiment: ")
        body.append(
            f"{card.sentiment_label} ({card.sentiment:+.2f}, {card.sentiment_by})",
            style=SENTIMENT_STYLE.get(card.sentiment_label, "white"),
        )
        body.append("\n")
    body.append(card.text + "\n")
    if card.url:
        body.append(card.url + "\n", style="underline")
    if card.contact:
        body.append(f"contact: {card.contact}\n", style="magenta")
    body.append(f"rule: {card.rule or 'default route'}", style="dim")
    if card.why:
        body.append(f"\nwhy here: {card.why}", style="dim")
    title = f"#{card.conversation_id} · {card.platform} · {card.severity.upper()} → #{channel}"
    return Panel(
        body,
        title=title,
        title_align="left",
        border_style=SEVERITY_STYLE.get(card.severity, "cyan"),
        subtitle=f"/crm claim {card.conversation_id}",
        subtitle_align="right",
    )


def render_digest(channel: str, card: DigestCard) -> Panel:
    """Several alerts in one panel: the first few listed, all counted."""
    body = Text()
    for item in card.items:
        body.append(f"#{item['conversation_id']} ", style="bold")
        body.append(f"{item['severity']:<8} ", style=SEVERITY_STYLE.get(item["severity"], "cyan"))
        body.append(f"{item['who']}: {item['title']}\n")
    rest = card.total - len(card.items)
    if rest > 0:
        body.append(f"… and {rest} more: /crm queue\n", style="dim")
    counts = ", ".join(f"{n} {sev}" for sev, n in sorted((card.counts or {}).items()))
    body.append(counts, style="dim")
    return Panel(
        body,
        title=f"{card.total} alerts → #{channel} ({card.reason})",
        title_align="left",
        border_style="magenta",
    )


def render_followup(channel: str, card: FollowUpCard) -> Text:
    """A further message in the conversation's thread."""
    prefix = "reopened · " if card.reopened else ""
    who = f"@{card.author_handle}" if card.author_handle else "CRM"
    line = Text(f"  ↳ #{card.conversation_id} [#{channel}] {prefix}{who}: ")
    line.append(card.text, style=SENTIMENT_STYLE.get(card.sentiment_label, "white"))
    return line


def render_status(channel: str, card: StatusCard) -> Text:
    """The alert's new state."""
    return Text(f"  ● #{card.conversation_id} [#{channel}] {card.line}", style="dim")


def render_suggestion(channel: str, card: SuggestionCard) -> Text:
    """A suggested reply in the alert's thread, labelled with who drafted it."""
    sid = suggestion_ref(card.suggestion_id)
    line = Text(f"  ✎ #{card.conversation_id} [#{channel}] suggested reply {sid} ", style="bold")
    line.append(f"({card.label}, {card.tone}, confidence {card.confidence:.0%}):\n", style="dim")
    line.append(f"    {card.text}\n", style="green")
    if card.needs_human:
        line.append(
            f"    ⚠ needs a human: {card.reason or 'see the conversation'}\n", style="yellow"
        )
    use = f"/crm use {sid}" + (" sends it" if card.reply_mode != "off" else "")
    line.append(
        f"    {use} · /crm vote {sid} up|down · /crm suggest {card.conversation_id}",
        style="dim",
    )
    return line


def render_reply(channel: str, card: ReplyCard) -> Text:
    """A reply to the customer at one of its steps (drafted, approved, published...)."""
    rid, where = reply_ref(card.reply_id), platform_name(card.platform)
    head = f"  ✉ #{card.conversation_id} [#{channel}] reply {rid} by @{card.author} "
    if card.state == "awaiting":
        line = Text(head + f"for {where}, waiting for {card.approvers}:\n", style="bold")
        line.append(f"    {card.text}\n", style="green")
        line.append(f"    /crm approve {rid} [edited text] · /crm reject {rid}", style="dim")
        return line
    if card.state == "published":
        line = Text(head + f"published on {where}: ", style="bold green")
        line.append(card.url or "(the platform gave no link)")
        return line
    if card.state == "failed":
        return Text(head + f"could not be published on {where}: {card.error}", style="bold red")
    by = f" by @{card.approver}" if card.approver else ""
    if card.state == "rejected":
        return Text(head + f"rejected{by}; nothing was sent.", style="yellow")
    return Text(head + f"approved{by}; sending to {where}.", style="dim")
