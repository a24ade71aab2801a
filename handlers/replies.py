"""Neutral answers to commands: text, optional tables, optional attachments."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Table:
    """A small table; adapters render it natively (rich table, code block, embed fields)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an answer (a CSV export, a PNG chart)."""

    filename: str
    data: bytes
    mime: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot answers. ``ephemeral`` replies are shown only to the asker where possible."""

    text: str
    tables: tuple[Table, ...] = ()
    ephemeral: bool = False
    attachments: tuple[Attachment, ...] = ()
