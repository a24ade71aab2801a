"""Untrusted JSON (webhook bodies, imported lines) decoded into values crmbot can store.

``json.loads`` alone lets through what later breaks storage or crashes the caller: JSON
nested thousands deep (RecursionError), integers of thousands of digits (Python refuses
to convert more than 4,300), NaN and Infinity (not JSON, refused by PostgreSQL's JSON),
NUL characters (PostgreSQL text cannot hold them) and lone surrogates (not encodable as
UTF-8). :func:`loads` refuses each of these with a :class:`BodyError` naming the field,
so a sender gets a 400 it can act on instead of a 500, or a 503 it would retry for ever.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
MAX_INT = 2**63 - 1  # the largest id any source sends (64-bit); larger numbers are refused
_MAX_INT_DIGITS = len(str(MAX_INT))
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class BodyError(ValueError):
    """The JSON cannot be accepted; ``reason`` names the field and is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Refused:
    """A number json.loads met that crmbot refuses (reported with its field by the walk)."""

    def __init__(self, why: str) -> None:
        self.why = why


def _parse_int(text: str) -> int | _Refused:
    digits = text.lstrip("-")
    if len(digits) > _MAX_INT_DIGITS or abs(int(text)) > MAX_INT:
        return _Refused(f"integer out of range (at most {MAX_INT})")
    return int(text)


def _parse_float(text: str) -> float | _Refused:
    value = float(text)
    if not math.isfinite(value):
        return _Refused("number out of range")
    return value


def _parse_constant(text: str) -> _Refused:
    return _Refused(f"{text} is not a JSON number")


def loads(data: bytes | str, what: str = "body") -> Any:
    """Decode ``data`` and check every value; BodyError says what is wrong and where
    (``what`` names the whole document in messages: "body is not valid JSON")."""
    prefix = f"{what} is " if what else ""
    try:
        value = json.loads(
            data, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
        )
    except json.JSONDecodeError as exc:
        raise BodyError(
            f"{prefix}not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise BodyError(f"{prefix}not UTF-8 text") from None
    except RecursionError:
        raise BodyError(f"{what or 'value'}: JSON nested deeper than {MAX_DEPTH} levels") from None
    check(value, what)
    return value


def field_path(parts: tuple[str | int, ...], what: str = "body") -> str:
    """``events[0].author.name`` for ('events', 0, 'author', 'name'); ``what`` for ()."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _NAME.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{_clip(part)!r}]"
    return out or what or "value"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _bad_string(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        return f"contains an unpaired surrogate (\\u{ord(surrogate.group()):04x})"
    return None


def check(value: Any, what: str = "body") -> None:
    """Raise BodyError for the first value (in document order) crmbot cannot store."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            where = field_path(path[:4], what) + "…"
            raise BodyError(f"{where}: JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, _Refused):
            raise BodyError(f"{field_path(path, what)}: {item.why}")
        if isinstance(item, str):
            problem = _bad_string(item)
            if problem is not None:
                raise BodyError(f"{field_path(path, what)}: {problem}")
        elif isinstance(item, dict):
            children: list[tuple[Any, tuple[str | int, ...]]] = []
            for key, child in item.items():
                problem = _bad_string(key)
                if problem is not None:
                    raise BodyError(f"{field_path(path, what)}: a field name {problem}")
                children.append((child, (*path, key)))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend((child, (*path, i)) for i, child in reversed(list(enumerate(item))))
