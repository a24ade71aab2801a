"""The edit box for a reply to the customer: a Discord modal with one paragraph field.

**Edit & send** on a suggestion and **Edit** on a draft open it, pre-filled. What it is
about travels in its custom_id (``crm:modal:s:<conversation>:<suggestion>`` or
``crm:modal:r:<reply>``), like the buttons' ids. The modal is stopped before it is sent,
so discord.py keeps no copy of it in memory: its submit reaches ``on_interaction`` and is
read from the custom_id, so a submit that arrives after a restart, or at another replica,
is handled like any button press.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import discord

from bot.chat.discord import limits

TEXT_FIELD = "text"  # the custom_id of the paragraph field
MODAL_TEXT = 4000  # Discord's limit on a text input's value (and its pre-filled default)
MODAL_TITLE = 45
LABEL_TEXT = 45
LABEL_DESCRIPTION = 100
PATTERN = re.compile(
    r"crm:modal:(?:s:(?P<conv>[0-9]{1,19}):(?P<sid>[0-9]{1,19})|r:(?P<rid>[0-9]{1,19}))"
)


@dataclass(frozen=True, slots=True)
class EditTarget:
    """What an edit box edits: a suggestion (sent to ``conversation_id``'s customer) or a
    drafted reply (approved with the edited text)."""

    kind: Literal["suggestion", "reply"]
    number: int
    conversation_id: int | None = None

    @property
    def ref(self) -> str:
        """``s33`` or ``r12``, as :meth:`ChatInbound.reply_text` takes it."""
        return f"{'s' if self.kind == 'suggestion' else 'r'}{self.number}"

    @property
    def custom_id(self) -> str:
        if self.kind == "suggestion":
            return f"crm:modal:s:{self.conversation_id}:{self.number}"
        return f"crm:modal:r:{self.number}"


def target_of(custom_id: str) -> EditTarget | None:
    """The target named by a modal's custom_id; None for a modal that is not crmbot's."""
    match = PATTERN.fullmatch(custom_id)
    if match is None:
        return None
    if match["rid"] is not None:
        return EditTarget("reply", int(match["rid"]))
    return EditTarget("suggestion", int(match["sid"]), int(match["conv"]))


def reply_modal(target: EditTarget, text: str) -> discord.ui.Modal:
    """The edit box for ``target``, pre-filled with ``text`` (cut to Discord's 4,000)."""
    if target.kind == "suggestion":
        title = f"Edit & send {target.ref} (#{target.conversation_id})"
        hint = "Sent as your public reply to the customer (or to an approver first)."
    else:
        title = f"Edit and approve draft {target.ref}"
        hint = "Approving publishes this text as the reply to the customer."
    modal = discord.ui.Modal(title=limits.clip(title, MODAL_TITLE), custom_id=target.custom_id)
    field: discord.ui.TextInput[Any] = discord.ui.TextInput(
        style=discord.TextStyle.paragraph,
        custom_id=TEXT_FIELD,
        default=limits.clip(text, MODAL_TEXT) or None,
        required=True,
        min_length=1,
        max_length=MODAL_TEXT,
    )
    modal.add_item(
        discord.ui.Label(
            text=limits.clip("Reply to the customer", LABEL_TEXT),
            description=limits.clip(hint, LABEL_DESCRIPTION),
            component=field,
        )
    )
    # handled through on_interaction by its custom_id, not by this object (see above)
    modal.stop()
    return modal


def submitted_text(data: dict[str, Any]) -> str | None:
    """The paragraph field's value in a MODAL_SUBMIT interaction's ``data``."""
    return _find(data.get("components") or [])


def _find(components: Iterable[dict[str, Any]]) -> str | None:
    for component in components:
        if component.get("custom_id") == TEXT_FIELD and "value" in component:
            return str(component["value"])
        nested = list(component.get("components") or [])
        if isinstance(component.get("component"), dict):  # a Label (type 18) holds one
            nested.append(component["component"])
        found = _find(nested)
        if found is not None:
            return found
    return None
