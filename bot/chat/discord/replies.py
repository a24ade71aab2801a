"""Command answers for Discord: the reply's text as content, each table as aligned code
blocks in embeds.

A message holds 2,000 characters of content and at most 10 embeds with 6,000 characters
across them, so long tables are split over several embeds and, past that, several
messages (the first is the deferred answer, the rest follow-ups); nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import discord

from bot.chat.discord import limits
from bot.chat.discord.limits import clip, one_line, units
from handlers.replies import Reply, Table

CELL_WIDTH = 40
FENCE = "```"
MAX_MESSAGES = 5


@dataclass
class Page:
    """One message of an answer."""

    content: str = ""
    embeds: list[discord.Embed] = field(default_factory=list)

    def size(self) -> int:
        return sum(limits.embed_size(embed) for embed in self.embeds)


def _cell(value: str) -> str:
    # inside a code block a backtick could close it early; newlines would break the row
    return clip(one_line(value).replace("`", "'"), CELL_WIDTH)


def table_lines(table: Table) -> list[str]:
    """The table as plain, space-aligned lines: header, rule, rows."""
    rows = [tuple(_cell(c) for c in table.columns)]
    rows += [tuple(_cell(c) for c in row) for row in table.rows]
    count = max(len(row) for row in rows)
    widths = [max((len(row[i]) for row in rows if i < len(row)), default=0) for i in range(count)]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()

    return [line(rows[0]), "  ".join("-" * w for w in widths), *(line(r) for r in rows[1:])]


def _code_chunks(lines: list[str], budget: int) -> list[str]:
    """Lines packed into code blocks of at most ``budget`` units each."""
    inner = budget - 2 * len(FENCE) - 2
    chunks: list[list[str]] = [[]]
    size = 0
    for raw in lines:
        text = clip(raw, inner)
        extra = units(text) + 1
        if chunks[-1] and size + extra > inner:
            chunks.append([])
            size = 0
        chunks[-1].append(text)
        size += extra
    return [f"{FENCE}\n" + "\n".join(chunk) + f"\n{FENCE}" for chunk in chunks if chunk]


def table_embeds(table: Table) -> list[discord.Embed]:
    """A table: its title on the first embed, the rows in code blocks."""
    title = clip(table.title, limits.TITLE)
    if not table.rows:
        return [discord.Embed(title=title, description="*nothing to show*")]
    # a chunk small enough that a few embeds fit in one message's 6,000
    chunks = _code_chunks(table_lines(table), 1900)
    return [
        discord.Embed(title=title if index == 0 else None, description=chunk)
        for index, chunk in enumerate(chunks)
    ]


def pages(reply: Reply) -> list[Page]:
    """The whole answer as messages within Discord's limits (at most MAX_MESSAGES)."""
    result = [Page(content=clip(reply.text or "done", limits.CONTENT))]
    for table in reply.tables:
        for embed in table_embeds(table):
            page = result[-1]
            if (
                len(page.embeds) >= limits.EMBEDS_PER_MESSAGE
                or page.size() + limits.embed_size(embed) > limits.EMBED_TOTAL
            ):
                page = Page()
                result.append(page)
            page.embeds.append(embed)
    if len(result) > MAX_MESSAGES:
        hidden = len(result) - MAX_MESSAGES
        result = result[:MAX_MESSAGES]
        note = f"… {hidden} more messages not shown. Narrow the question (e.g. a shorter period)."
        result[-1].content = clip(f"{result[-1].content}\n{note}".strip(), limits.CONTENT)
    return result
