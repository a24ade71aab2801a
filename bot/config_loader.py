"""Reading the admin's TOML config into a validated :class:`CrmbotConfig`.

Errors name the dotted path of the bad key (``rules[1].channel: unknown channel 'x'``)
and, where the key can be found in the file, its line.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config_problems import config_problems
from handlers.config import CrmbotConfig


class ConfigError(Exception):
    """The config file is invalid; ``problems`` are one line each, ready to show an admin."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


def default_config_text() -> str:
    """The embedded defaults (bot/data/default.toml)."""
    return resources.files("bot").joinpath("data/default.toml").read_text(encoding="utf-8")


def load_config_text(text: str, source: str = "<config>") -> CrmbotConfig:
    """Parse and validate TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    return validate_config(data, source, text)


def load_config(path: Path | None) -> tuple[CrmbotConfig, str]:
    """The config at ``path``, or the embedded defaults when ``path`` is None or missing.

    Returns the config and a description of where it came from.
    """
    if path is None or not path.exists():
        return load_config_text(default_config_text(), "embedded defaults"), "embedded defaults"
    return load_config_text(path.read_text(encoding="utf-8"), str(path)), str(path)


def validate_config(data: dict[str, Any], source: str, text: str = "") -> CrmbotConfig:
    """Validate parsed TOML data; raise ConfigError listing every problem (with its line
    where it can be found in ``text``)."""
    try:
        return CrmbotConfig.model_validate(data)
    except ValidationError as exc:
        problems: list[str] = []
        for path, message in config_problems(data, exc):
            if path:
                problems.append(_with_line(f"{path}: {message}", path, text))
            else:
                problems.append(_with_line(message, message.split(":", 1)[0], text))
        raise ConfigError(source, problems) from None


_INDEXED = re.compile(r"^(?P<table>[\w.]+)\[(?P<index>\d+)\](?:\.(?P<key>\w+))?")


def find_line(text: str, path: str) -> int | None:
    """Best-effort line number of ``path`` in TOML ``text`` (arrays of tables and plain tables)."""
    if not text:
        return None
    lines = text.splitlines()
    match = _INDEXED.match(path)
    if match:
        header = f"[[{match['table']}]]"
        starts = [i for i, line in enumerate(lines) if line.strip() == header]
        index = int(match["index"])
        if index >= len(starts):
            return None
        start = starts[index]
        end = starts[index + 1] if index + 1 < len(starts) else len(lines)
        key = match["key"]
        if key:
            for i in range(start + 1, end):
                if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
                    return i + 1
        return start + 1
    *tables, leaf = path.split(".")
    table_header = f"[{'.'.join(tables)}]" if tables else None
    inside = table_header is None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped == table_header
            continue
        if inside and re.match(rf"{re.escape(leaf)}\s*=", stripped):
            return i + 1
    return None


def _with_line(problem: str, path: str, text: str) -> str:
    line = find_line(text, path)
    return f"{problem} (line {line})" if line else problem
