"""Prompt templates (``*.md``) for suggested replies and classification, and the data files
they use (``*.toml``), loaded by name."""

from __future__ import annotations

from importlib import resources


def load_file(filename: str) -> str:
    """The text of ``prompts/<filename>``; a missing file is a clear error."""
    resource = resources.files(__name__).joinpath(filename)
    if not resource.is_file():
        raise FileNotFoundError(f"no file named {filename!r} in prompts/")
    return resource.read_text(encoding="utf-8")


def load_prompt(name: str) -> str:
    """The text of ``prompts/<name>.md``; a missing prompt is a clear error."""
    try:
        return load_file(f"{name}.md")
    except FileNotFoundError:
        raise FileNotFoundError(f"no prompt named {name!r} in prompts/") from None
