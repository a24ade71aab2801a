"""Prompt templates (``*.md``) for suggested replies and classification, loaded by name."""

from __future__ import annotations

from importlib import resources


def load_prompt(name: str) -> str:
    """The text of ``prompts/<name>.md``; a missing prompt is a clear error."""
    resource = resources.files(__name__).joinpath(f"{name}.md")
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt named {name!r} in prompts/")
    return resource.read_text(encoding="utf-8")
