"""Ids that look like what they name: ``s33`` a suggestion, ``kb12`` a knowledge-base entry,
``r12`` a reply to the customer (handlers/publishing.py),
``#33`` or ``33`` a conversation. Commands read them with :func:`expect`, which refuses the
wrong kind with a reason saying which kind it wants, so a command never acts on a
different kind of thing than the one the person looked at."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from handlers.errors import UserError

PATTERN = re.compile(r"(?i)^(?:(s)|(kb)|(r)|(#))?(\d{1,18})$")


class Kind(StrEnum):
    """What an id names."""

    SUGGESTION = "suggestion"
    KB = "knowledge-base entry"
    REPLY = "reply"
    CONVERSATION = "conversation"


EXAMPLE = {Kind.SUGGESTION: "s33", Kind.KB: "kb12", Kind.REPLY: "r12", Kind.CONVERSATION: "#33"}


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed id."""

    kind: Kind
    number: int

    def __str__(self) -> str:
        return show(self.kind, self.number)


def show(kind: Kind, number: int) -> str:
    """How an id is written wherever it is shown: ``s33``, ``kb12``, ``#33``."""
    if kind is Kind.SUGGESTION:
        return f"s{number}"
    if kind is Kind.KB:
        return f"kb{number}"
    if kind is Kind.REPLY:
        return f"r{number}"
    return f"#{number}"


def suggestion_ref(number: int) -> str:
    """``s<number>``."""
    return show(Kind.SUGGESTION, number)


def kb_ref(number: int) -> str:
    """``kb<number>``."""
    return show(Kind.KB, number)


def reply_ref(number: int) -> str:
    """``r<number>``."""
    return show(Kind.REPLY, number)


def parse(raw: str) -> Ref | None:
    """The id ``raw`` names, or None when it is not an id at all."""
    match = PATTERN.match(raw.strip())
    if match is None:
        return None
    suggestion, kb, reply, _hash, digits = match.groups()
    kind = (
        Kind.SUGGESTION
        if suggestion
        else Kind.KB
        if kb
        else Kind.REPLY
        if reply
        else Kind.CONVERSATION
    )
    return Ref(kind, int(digits))


def expect(raw: str, kind: Kind, usage: str, hint: str = "") -> int:
    """The number of ``raw`` when it names a ``kind``; else a UserError saying which kind
    the command takes (``usage`` without ``/crm``), what ``raw`` is, and ``hint``."""
    ref = parse(raw)
    if ref is not None and ref.kind is kind:
        return ref.number
    wanted = f"a {kind.value} id like `{EXAMPLE[kind]}`"
    if kind is Kind.CONVERSATION:
        wanted = "a conversation number like `#33` or `33`"
    what = f"`{raw}` is not an id" if ref is None else f"`{raw}` is a {ref.kind.value}"
    if ref is not None and ref.kind is Kind.CONVERSATION and kind is not Kind.CONVERSATION:
        what = f"`{raw}` is a conversation number"
    reason = f"{what}; `/crm {usage.split()[0]}` takes {wanted}. Usage: `/crm {usage}`"
    raise UserError(reason + (f"\n{hint}" if hint else ""))
