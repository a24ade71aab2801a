"""Personal data out of text before it is sent to a model: emails, phone numbers, payment
cards, IBANs and street addresses become placeholders like ``[EMAIL]``."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
PHONE = re.compile(r"(?<![\w/])\+?\d[\d\s().-]{6,}\d(?![\w/])")
STREET_WORDS = (
    "street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    "square|sq|strasse|straße|str|weg|gasse|platz|allee|rue|via|calle"
)
ADDRESS = re.compile(
    rf"\b\d{{1,5}}[a-z]?\s+(?:[A-Z][\w'-]*\s+){{0,3}}(?:{STREET_WORDS})\b\.?"
    rf"|\b[A-Z][\wäöüß'-]*(?:{STREET_WORDS})\s+\d{{1,5}}[a-z]?\b",
    re.IGNORECASE,
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[CARD]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[PHONE]" if 7 <= len(digits) <= 15 else match.group(0)


def redact(text: str) -> str:
    """``text`` with personal data replaced by placeholders (order matters: the most
    specific patterns go first so a card number is not taken for a phone number)."""
    text = EMAIL.sub("[EMAIL]", text)
    text = IBAN.sub("[IBAN]", text)
    text = CARD.sub(_card, text)
    text = PHONE.sub(_phone, text)
    return ADDRESS.sub("[ADDRESS]", text)
