"""Text for Slack: escape what Slack would parse, and cut to Block Kit's length limits.

Slack reads ``&``, ``<`` and ``>`` as markup (``<!channel>`` pings everyone), so text from
outside (mentions, names, CRM fields) is always escaped. Lengths are counted in UTF-16
code units, which is never less than Python's count, so a clipped text fits whichever way
Slack or slack_sdk counts.
"""

from __future__ import annotations

from collections.abc import Iterable

ELLIPSIS = "…"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def units(text: str) -> int:
    """Length in UTF-16 code units (an emoji outside the BMP counts as two)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def escape(text: str) -> str:
    """``text`` with Slack's control characters escaped."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _clip_pieces(pieces: Iterable[str], limit: int) -> str:
    taken: list[str] = []
    used = 0
    budget = limit - units(ELLIPSIS)
    cut = False
    for piece in pieces:
        size = units(piece)
        if used + size > budget:
            cut = True
            break
        taken.append(piece)
        used += size
    text = "".join(taken)
    return text.rstrip() + ELLIPSIS if cut else text


def clip(text: str, limit: int) -> str:
    """``text`` escaped for mrkdwn and cut to ``limit`` units, never inside an escape."""
    escaped = escape(text)
    if units(escaped) <= limit:
        return escaped
    return _clip_pieces((_ESCAPES.get(ch, ch) for ch in text), limit)


def clip_plain(text: str, limit: int) -> str:
    """``text`` for a plain_text object (not escaped), cut to ``limit`` units."""
    if units(text) <= limit:
        return text
    return _clip_pieces(iter(text), limit)


def quote(text: str, limit: int) -> str:
    """``text`` as an escaped mrkdwn block quote of at most ``limit`` units."""
    pieces = (">", *("\n>" if ch == "\n" else _ESCAPES.get(ch, ch) for ch in text))
    return _clip_pieces(pieces, limit)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines too) made one space."""
    return " ".join(text.split())


def link(url: str, label: str, limit: int = 2000) -> str:
    """A mrkdwn link of at most ``limit`` units; the escaped (clipped) URL when it cannot be
    written as a link safely."""
    text = f"<{url.replace('&', '&amp;')}|{escape(label)}>"
    unsafe = not url.startswith(("http://", "https://")) or any(c in url for c in "|<> \n\t")
    if unsafe or units(text) > limit:
        return clip(url, limit)
    return text
