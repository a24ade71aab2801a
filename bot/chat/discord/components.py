"""Buttons and the hand-off picker, as persistent ``DynamicItem`` components.

The conversation (or suggestion) id travels in each custom_id (``crm:claim:12``), and the
item classes are registered with ``Client.add_dynamic_items``, so a press is understood by
any replica and after any restart, whatever message it is on. Pressing hands the work to
the client's :class:`ComponentHandler`.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol

import discord

from bot.chat.discord import limits
from handlers.inbound_port import SuggestionVerb

AlertAction = Literal["claim", "reply", "resolve", "reopen", "handoff", "lead"]
ALERT_BUTTONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "claim": ("Claim", discord.ButtonStyle.primary),
    "reply": ("Mark replied", discord.ButtonStyle.secondary),
    "resolve": ("Resolve", discord.ButtonStyle.success),
    "reopen": ("Reopen", discord.ButtonStyle.secondary),
    "lead": ("Create lead", discord.ButtonStyle.secondary),
}
SUGGESTION_BUTTONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "use": ("Use", discord.ButtonStyle.primary),
    "up": ("👍", discord.ButtonStyle.secondary),
    "down": ("👎", discord.ButtonStyle.secondary),
}


class ComponentHandler(Protocol):
    """What the client does when a component is used."""

    async def on_alert_action(
        self,
        interaction: discord.Interaction[Any],
        action: AlertAction,
        conversation_id: int,
        target: str | None,
    ) -> None: ...

    async def on_suggestion(
        self, interaction: discord.Interaction[Any], verb: SuggestionVerb, suggestion_id: int
    ) -> None: ...


def _handler(interaction: discord.Interaction[Any]) -> ComponentHandler:
    handler = getattr(interaction.client, "components", None)
    if handler is None:
        raise RuntimeError("the Discord client has no component handler")
    return handler  # type: ignore[no-any-return]


def custom_id(*parts: object) -> str:
    """``crm:<part>:<part>``; never over Discord's 100 characters."""
    value = ":".join(["crm", *(str(p) for p in parts)])
    if len(value) > limits.CUSTOM_ID:
        raise ValueError(f"custom_id over {limits.CUSTOM_ID} characters")
    return value


class AlertButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"crm:(?P<action>claim|reply|resolve|reopen|lead):(?P<id>[0-9]{1,19})",
):
    """Claim, Mark replied, Resolve, Reopen or Create lead on an alert (or Claim in a digest)."""

    def __init__(
        self, action: str, conversation_id: int, *, label: str | None = None, row: int | None = None
    ) -> None:
        text, style = ALERT_BUTTONS[action]
        super().__init__(
            discord.ui.Button(
                label=limits.clip(label or text, limits.BUTTON_LABEL),
                style=style,
                custom_id=custom_id(action, conversation_id),
            ),
            row=row,
        )
        self.action: AlertAction = action  # type: ignore[assignment]
        self.conversation_id = conversation_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> AlertButton:
        return cls(match["action"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _handler(interaction).on_alert_action(
            interaction, self.action, self.conversation_id, None
        )


class HandoffSelect(
    discord.ui.DynamicItem[discord.ui.UserSelect[Any]],
    template=r"crm:handoff:(?P<id>[0-9]{1,19})",
):
    """Hand the conversation to the person picked."""

    def __init__(self, conversation_id: int, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.UserSelect(
                placeholder="Hand off to…",
                custom_id=custom_id("handoff", conversation_id),
                min_values=1,
                max_values=1,
            ),
            row=row,
        )
        self.conversation_id = conversation_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> HandoffSelect:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        values = data.get("values") or []
        target = str(values[0]) if values else None
        await _handler(interaction).on_alert_action(
            interaction, "handoff", self.conversation_id, target
        )


class SuggestionButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"crm:sug:(?P<verb>use|up|down):(?P<id>[0-9]{1,19})",
):
    """Use, 👍 or 👎 on a suggested reply."""

    def __init__(self, verb: str, suggestion_id: int) -> None:
        text, style = SUGGESTION_BUTTONS[verb]
        super().__init__(
            discord.ui.Button(
                label=text, style=style, custom_id=custom_id("sug", verb, suggestion_id)
            )
        )
        self.verb: SuggestionVerb = verb  # type: ignore[assignment]
        self.suggestion_id = suggestion_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> SuggestionButton:
        return cls(match["verb"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _handler(interaction).on_suggestion(interaction, self.verb, self.suggestion_id)


DYNAMIC_ITEMS = (AlertButton, HandoffSelect, SuggestionButton)


def alert_view(
    conversation_id: int | None, status: str = "open", lead: bool = False
) -> discord.ui.View:
    """The buttons for the conversation's state: work it while open, reopen once resolved;
    ``lead`` adds Create lead (the author becomes a CRM contact)."""
    view = discord.ui.View(timeout=None)
    if conversation_id is None:
        return view
    if status == "resolved":
        view.add_item(AlertButton("reopen", conversation_id, row=0))
        return view
    if status == "open":
        view.add_item(AlertButton("claim", conversation_id, row=0))
    view.add_item(AlertButton("reply", conversation_id, row=0))
    view.add_item(AlertButton("resolve", conversation_id, row=0))
    view.add_item(HandoffSelect(conversation_id, row=1))
    if lead:
        view.add_item(AlertButton("lead", conversation_id, row=2))
    return view


def digest_view(conversation_ids: list[int]) -> discord.ui.View:
    """A Claim button per new alert of a digest, five a row."""
    view = discord.ui.View(timeout=None)
    for index, conversation_id in enumerate(
        conversation_ids[: limits.ROWS * limits.BUTTONS_PER_ROW]
    ):
        view.add_item(
            AlertButton(
                "claim",
                conversation_id,
                label=f"Claim #{conversation_id}",
                row=index // limits.BUTTONS_PER_ROW,
            )
        )
    return view


def suggestion_view(suggestion_id: int) -> discord.ui.View:
    """Use / 👍 / 👎 under a suggested reply."""
    view = discord.ui.View(timeout=None)
    for verb in SUGGESTION_BUTTONS:
        view.add_item(SuggestionButton(verb, suggestion_id))
    return view
