"""Command answers for Slack: the reply's text, then each table as aligned code blocks.

A message holds at most 50 blocks of at most 3000 characters each, so long tables are
split over several sections and what still does not fit is counted, not silently lost.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.chat.slack.blocks import MAX_BLOCKS, SECTION_LIMIT, TEXT_LIMIT
from bot.chat.slack.mrkdwn import clip, clip_plain, escape, one_line, units
from handlers.replies import Reply, Table

CELL_WIDTH = 40
FENCE = "```"


def _cell(value: str) -> str:
    # Inside a code block a backtick could close it early; newlines would break the row.
    return clip_plain(one_line(value).replace("`", "'"), CELL_WIDTH)


def table_lines(table: Table) -> list[str]:
    """The table as plain, space-aligned lines: header, rule, rows."""
    rows = [tuple(_cell(c) for c in table.columns)]
    rows += [tuple(_cell(c) for c in row) for row in table.rows]
    count = max(len(row) for row in rows)
    widths = [max((len(row[i]) for row in rows if i < len(row)), default=0) for i in range(count)]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()

    return [line(rows[0]), "  ".join("-" * w for w in widths), *(line(r) for r in rows[1:])]


def _code_sections(lines: list[str]) -> list[str]:
    """Escaped lines packed into code blocks that each fit one section."""
    budget = SECTION_LIMIT - 2 * len(FENCE) - 2
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for raw in lines:
        text = clip(raw, budget)
        extra = units(text) + 1
        if current and size + extra > budget:
            chunks.append("\n".join(current))
            current, size = [], 0
        current.append(text)
        size += extra
    if current:
        chunks.append("\n".join(current))
    return [f"{FENCE}\n{chunk}\n{FENCE}" for chunk in chunks]


def table_blocks(table: Table) -> list[Block]:
    """A table: its title, then the rows in one or more code blocks."""
    blocks: list[Block] = [
        ContextBlock(elements=[MarkdownTextObject(text=f"*{clip(table.title, 200)}*")])
    ]
    if not table.rows:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="_nothing to show_")))
        return blocks
    blocks.extend(
        SectionBlock(text=MarkdownTextObject(text=section))
        for section in _code_sections(table_lines(table))
    )
    return blocks


def reply_blocks(reply: Reply) -> list[Block]:
    """The whole answer, within Block Kit's 50-block cap."""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=clip(reply.text or " ", SECTION_LIMIT)))
    ]
    for table in reply.tables:
        blocks.extend(table_blocks(table))
    if len(blocks) > MAX_BLOCKS:
        hidden = len(blocks) - (MAX_BLOCKS - 1)
        blocks = blocks[: MAX_BLOCKS - 1]
        note = f"… {hidden} more parts not shown. Narrow the question (e.g. a shorter period)."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=escape(note))]))
    return blocks


def reply_text(reply: Reply) -> str:
    """The notification text of an answer."""
    return clip(reply.text or "done", TEXT_LIMIT)
