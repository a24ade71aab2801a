"""`crmbot import FILE`: ingest a JSON Lines file of mentions and CRM events in batches."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.sources.jsonl import BadLine, read_lines
from bot.sources.schema import SchemaError, parse_event
from handlers.events import InboundEvent
from handlers.ingest import IngestResult

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ImportReport:
    """Totals of an import and the lines that were skipped."""

    stored: int = 0
    duplicates: int = 0
    opened: int = 0
    skipped: list[BadLine] = field(default_factory=list)


def import_file(
    path: Path,
    ingest: Callable[[Sequence[InboundEvent]], IngestResult],
    batch_size: int = 1000,
) -> ImportReport:
    """Ingest every valid line of ``path``; bad lines are reported, not fatal."""
    report = ImportReport()
    batch: list[InboundEvent] = []

    def flush() -> None:
        if batch:
            result = ingest(batch)
            report.stored += result.stored
            report.duplicates += result.duplicates
            report.opened += len(result.opened)
            batch.clear()

    for line in read_lines(path):
        if isinstance(line, BadLine):
            report.skipped.append(line)
            continue
        try:
            batch.append(parse_event(line.data))
        except SchemaError as exc:
            report.skipped.append(BadLine(line.number, str(exc)))
            continue
        if len(batch) >= batch_size:
            flush()
    flush()
    return report
