"""Text typed in chat made storable: NUL characters dropped, lone surrogates replaced.

Webhooks refuse such values with a 400 (bot/sources/safejson.py); a person in chat cannot
act on a refusal for an invisible character, so their text is cleaned instead.
PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded as UTF-8.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """``text`` without NUL characters and with lone surrogates as U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _SURROGATE.sub("\ufffd", text)
