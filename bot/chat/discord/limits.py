"""Discord's server-side limits, and text cut to fit them.

discord.py checks none of these; Discord answers 400 (code 50035) when one is broken, so
every layout here is built to stay inside them. Lengths are counted in UTF-16 code units,
never less than Discord's own count, so a clipped text fits whichever way it is counted.
"""

from __future__ import annotations

import discord

CONTENT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL = 6000
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
ROWS = 5
BUTTONS_PER_ROW = 5
CUSTOM_ID = 100
BUTTON_LABEL = 80
PLACEHOLDER = 150
THREAD_NAME = 100
CHOICE_NAME = 100
CHOICES = 25

ELLIPSIS = "…"


def units(text: str) -> int:
    """Length in UTF-16 code units (an emoji outside the BMP counts as two)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines too) made one space."""
    return " ".join(text.split())


def clip(text: str, limit: int, tail: str = ELLIPSIS) -> str:
    """``text`` cut to ``limit`` units, ending in ``tail`` when it was cut."""
    if units(text) <= limit:
        return text
    budget = limit - units(tail)
    used = 0
    taken: list[str] = []
    for ch in text:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > budget:
            break
        taken.append(ch)
        used += size
    return "".join(taken).rstrip() + tail


def escape(text: str) -> str:
    """Text from outside with Discord markdown and mentions made harmless."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def clip_escaped(text: str, limit: int, tail: str = ELLIPSIS) -> str:
    """``text`` escaped, then cut to ``limit`` units without splitting an escape."""
    escaped = escape(text)
    if units(escaped) <= limit:
        return escaped
    # cut the raw text until its escaped form fits, so no escape is split in half
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if units(escape(text[:mid]).rstrip()) + units(tail) <= limit:
            low = mid
        else:
            high = mid - 1
    return escape(text[:low]).rstrip() + tail


def is_url(url: str | None) -> bool:
    """Whether ``url`` is one Discord accepts as an embed or button URL."""
    return (
        bool(url)
        and url is not None
        and url.startswith(("http://", "https://"))
        and len(url) <= 2048
        and not any(c in url for c in " \n\t<>")
    )


def quote(text: str, limit: int, url: str | None = None) -> str:
    """``text`` as an escaped block quote of at most ``limit`` units; a cut text ends with
    a link to the original when there is one."""
    tail = f"{ELLIPSIS} [read the rest]({url})" if url and is_url(url) else ELLIPSIS
    if units(tail) > limit // 2:
        tail = ELLIPSIS
    body = clip_escaped(text or "(no text)", limit - 2 * (text.count("\n") + 1), tail)
    return "\n".join(f"> {line}" if line else ">" for line in body.split("\n"))[:limit]


def embed_size(embed: discord.Embed) -> int:
    """The characters of ``embed`` that count toward the 6,000 per message."""
    size = units(embed.title or "") + units(embed.description or "")
    size += sum(units(f.name or "") + units(f.value or "") for f in embed.fields)
    size += units(embed.footer.text or "") + units(embed.author.name or "")
    return size
