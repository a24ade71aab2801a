"""Reading events from JSON Lines files (imports and the demo stream).

A malformed line is reported with its line number and skipped; the rest is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.sources.safejson import BodyError, loads


@dataclass(frozen=True, slots=True)
class Line:
    """A decoded JSON object and where it came from."""

    number: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be used, and why."""

    number: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.number}: {self.reason}"


def read_lines(path: Path) -> Iterator[Line | BadLine]:
    """Each non-blank line of ``path`` as a Line, or a BadLine when it is not a JSON object."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            stripped = text.strip()
            if not stripped or stripped.startswith("//"):
                continue
            try:
                data = loads(stripped, what="")
            except BodyError as exc:
                yield BadLine(number, exc.reason)
                continue
            if not isinstance(data, dict):
                yield BadLine(number, "expected a JSON object")
                continue
            yield Line(number, data)
