"""Every problem of a config file in one run, cross-key ones included.

pydantic stops at the first layer that fails: a model's after-validators (and the whole
file's cross-key checks: unknown channels, unknown time intervals, unreachable routes) run
only once every field below them is valid. So an admin with four mistakes would see two,
fix them, and only then meet the others. Here each round drops what failed (a bad key, or
the table that lacks a required key) from a copy of the data and validates again, until
the rest is valid or only cross-key problems remain; indices in the messages are those of
the file, not of the trimmed copy.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterator
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from handlers.config import CrmbotConfig

MAX_ROUNDS = 8
Loc = tuple[int | str, ...]
_LIST_REF = re.compile(r"\b(?P<table>[a-z_]+)\[(?P<index>\d+)\]")


class _Trimmer:
    """A working copy of the data and the file's index of each remaining list item."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = copy.deepcopy(data)
        self.origin: dict[str, list[int]] = {
            key: list(range(len(value))) for key, value in data.items() if isinstance(value, list)
        }

    def file_loc(self, loc: Loc) -> Loc:
        """``loc`` in the copy -> the same place in the file."""
        if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            indices = self.origin.get(loc[0])
            if indices is not None and loc[1] < len(indices):
                return (loc[0], indices[loc[1]], *loc[2:])
        return loc

    def file_text(self, message: str) -> str:
        """Rewrite ``routes[2]``-style references of the copy into the file's numbering."""

        def mapped(match: re.Match[str]) -> str:
            table, index = match["table"], int(match["index"])
            indices = self.origin.get(table)
            if indices is None or index >= len(indices):
                return match[0]
            return f"{table}[{indices[index]}]"

        return _LIST_REF.sub(mapped, message)

    def drop(self, errors: list[ErrorDetails]) -> bool:
        """Remove what each error is about; False when nothing could be removed."""
        targets: set[Loc] = set()
        for error in errors:
            # the bad value itself; for a missing key, the table that lacks it; for a place
            # pydantic names past the data (a union tag), the deepest part that exists
            target = self._existing_prefix(tuple(error["loc"]))
            if target:
                targets.add(target)
        for target in sorted(targets, key=_sort_key, reverse=True):
            self._remove(target)
        return bool(targets)

    def _existing_prefix(self, loc: Loc) -> Loc:
        node: Any = self.data
        found: list[int | str] = []
        for part in loc:
            present = (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            )
            if not present:
                break
            node = node[part]
            found.append(part)
        return tuple(found)

    def _remove(self, target: Loc) -> None:
        node: Any = self.data
        for part in target[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return  # already removed with an enclosing table
        last = target[-1]
        if isinstance(node, dict) and last in node:
            del node[last]
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            del node[last]
            if len(target) == 2 and isinstance(target[0], str) and target[0] in self.origin:
                del self.origin[target[0]][last]


def _sort_key(loc: Loc) -> tuple[tuple[int, int, str], ...]:
    return tuple((1, p, "") if isinstance(p, int) else (0, 0, p) for p in loc)


def config_problems(data: dict[str, Any], first: ValidationError) -> list[tuple[str, str]]:
    """Every problem as ``(dotted path, message)``; cross-key problems carry their own path
    at the start of the message and an empty path."""
    trimmer = _Trimmer(data)
    problems: list[tuple[str, str]] = []
    error: ValidationError | None = first
    for _ in range(MAX_ROUNDS):
        if error is None:
            break
        details = error.errors()
        field_errors = [e for e in details if e["loc"]]
        for e in details:
            if e["loc"]:
                loc = trimmer.file_loc(tuple(e["loc"]))
                problems.append((dotted_path(loc), _message(e, loc)))
            else:
                for line in _clean(str(e["msg"])).splitlines():
                    problems.append(("", trimmer.file_text(line)))
        if not field_errors or not trimmer.drop(field_errors):
            break
        try:
            CrmbotConfig.model_validate(trimmer.data)
            error = None
        except ValidationError as exc:
            error = exc
    return list(dict.fromkeys(problems))


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def _message(error: ErrorDetails, loc: Loc) -> str:
    if error["type"] != "extra_forbidden":
        return _clean(str(error["msg"]))
    key = str(loc[-1])
    close = difflib.get_close_matches(key, allowed_keys(loc[:-1]), n=1, cutoff=0.6)
    return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"


def allowed_keys(loc: Loc) -> list[str]:
    """The keys the table at ``loc`` may have (its model's fields, by their TOML names)."""
    models: set[type[BaseModel]] = {CrmbotConfig}
    for part in loc:
        if isinstance(part, int):
            continue
        inner: set[type[BaseModel]] = set()
        for model in models:
            field = model.model_fields.get(part) or next(
                (f for f in model.model_fields.values() if f.alias == part), None
            )
            if field is not None:
                inner.update(_models_in(field.annotation))
        if inner:
            models = inner  # else: a name of the user's (a channel, a source), same model
    return sorted({f.alias or name for m in models for name, f in m.model_fields.items()})


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _models_in(arg)


def dotted_path(loc: Loc) -> str:
    """('rules', 1, 'channel') -> 'rules[1].channel'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
