"""Buttons and the hand-off picker, as persistent ``DynamicItem`` components.

The conversation (or suggestion, or reply) id travels in each custom_id (``crm:claim:12``,
``crm:sug:send:12:33``, ``crm:rep:approve:7``), and the
item classes are registered with ``Client.add_dynamic_items``, so a press is understood by
any replica and after any restart, whatever message it is on. Pressing hands the work to
the client's :class:`ComponentHandler`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, Protocol, Self

import discord

from bot.chat.discord import limits
from handlers.inbound_port import SuggestionVerb

SendHow = Literal["send", "edit"]
ReviewButtonVerb = Literal["approve", "edit", "reject"]

AlertAction = Literal["claim", "reply", "resolve", "reopen", "handoff"]
ALERT_BUTTONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "claim": ("Claim", discord.ButtonStyle.primary),
    "reply": ("Mark replied", discord.ButtonStyle.secondary),
    "resolve": ("Resolve", discord.ButtonStyle.success),
    "reopen": ("Reopen", discord.ButtonStyle.secondary),
}
SUGGESTION_BUTTONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    # "use" records a reply made elsewhere; its custom_id stays crm:sug:use:<id>
    "use": ("Mark replied", discord.ButtonStyle.secondary),
    "up": ("👍", discord.ButtonStyle.secondary),
    "down": ("👎", discord.ButtonStyle.secondary),
}
SEND_LABELS = {"direct": "Send", "approve": "Send for approval"}
EDIT_AND_SEND = "Edit & send"
REVIEW_BUTTONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "approve": ("Approve", discord.ButtonStyle.success),
    "edit": ("Edit", discord.ButtonStyle.secondary),
    "reject": ("Reject", discord.ButtonStyle.danger),
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

    async def on_send(
        self,
        interaction: discord.Interaction[Any],
        how: SendHow,
        conversation_id: int,
        suggestion_id: int,
    ) -> None: ...

    async def on_review(
        self, interaction: discord.Interaction[Any], verb: ReviewButtonVerb, reply_id: int
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
    template=r"crm:(?P<action>claim|reply|resolve|reopen):(?P<id>[0-9]{1,19})",
):
    """Claim, Mark replied, Resolve or Reopen on an alert (or Claim in a digest)."""

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


class _VerbButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A button named by a verb and one id, ``crm:<prefix>:<verb>:<id>``; each subclass
    sets its template, its buttons and what a press does (this base matches nothing)."""

    prefix: ClassVar[str]
    buttons: ClassVar[dict[str, tuple[str, discord.ButtonStyle]]]

    def __init__(self, verb: str, number: int) -> None:
        text, style = self.buttons[verb]
        super().__init__(
            discord.ui.Button(
                label=text, style=style, custom_id=custom_id(self.prefix, verb, number)
            )
        )
        self.verb = verb
        self.number = number

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(match["verb"], int(match["id"]))


class SuggestionButton(_VerbButton, template=r"crm:sug:(?P<verb>use|up|down):(?P<id>[0-9]{1,19})"):
    """Mark replied (custom_id ``crm:sug:use:<id>``), 👍 or 👎 on a suggested reply."""

    prefix = "sug"
    buttons = SUGGESTION_BUTTONS

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        verb: SuggestionVerb = self.verb  # type: ignore[assignment]
        await _handler(interaction).on_suggestion(interaction, verb, self.number)


class SendButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"crm:sug:(?P<how>send|edit):(?P<conv>[0-9]{1,19}):(?P<id>[0-9]{1,19})",
):
    """Send (or Send for approval) and Edit & send on a suggested reply: the answer goes to
    the customer of the conversation, whose id travels with the suggestion's."""

    def __init__(
        self, how: str, conversation_id: int, suggestion_id: int, *, mode: str = "direct"
    ) -> None:
        label = EDIT_AND_SEND if how == "edit" else SEND_LABELS.get(mode, SEND_LABELS["direct"])
        style = discord.ButtonStyle.success if how == "send" else discord.ButtonStyle.primary
        super().__init__(
            discord.ui.Button(
                label=label,
                style=style,
                custom_id=custom_id("sug", how, conversation_id, suggestion_id),
            )
        )
        self.how: SendHow = how  # type: ignore[assignment]
        self.conversation_id = conversation_id
        self.suggestion_id = suggestion_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> SendButton:
        return cls(match["how"], int(match["conv"]), int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _handler(interaction).on_send(
            interaction, self.how, self.conversation_id, self.suggestion_id
        )


class ReviewButton(
    _VerbButton, template=r"crm:rep:(?P<verb>approve|edit|reject):(?P<id>[0-9]{1,19})"
):
    """Approve, Edit or Reject on a drafted reply (the handler decides who may)."""

    prefix = "rep"
    buttons = REVIEW_BUTTONS

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        verb: ReviewButtonVerb = self.verb  # type: ignore[assignment]
        await _handler(interaction).on_review(interaction, verb, self.number)


DYNAMIC_ITEMS = (AlertButton, HandoffSelect, SuggestionButton, SendButton, ReviewButton)


def alert_view(conversation_id: int | None, status: str = "open") -> discord.ui.View:
    """The buttons for the conversation's state: work it while open, reopen once resolved."""
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


def suggestion_view(
    suggestion_id: int, conversation_id: int | None = None, reply_mode: str = "off"
) -> discord.ui.View:
    """Under a suggested reply: Send (or Send for approval) and Edit & send where staff may
    answer from chat, else Mark replied (a reply made elsewhere); then 👍 / 👎."""
    view = discord.ui.View(timeout=None)
    if reply_mode in SEND_LABELS and conversation_id is not None:
        view.add_item(SendButton("send", conversation_id, suggestion_id, mode=reply_mode))
        view.add_item(SendButton("edit", conversation_id, suggestion_id))
        verbs = ["up", "down"]
    else:
        verbs = list(SUGGESTION_BUTTONS)
    for verb in verbs:
        view.add_item(SuggestionButton(verb, suggestion_id))
    return view


def review_view(reply_id: int) -> discord.ui.View:
    """Approve / Edit / Reject under a draft waiting for approval."""
    view = discord.ui.View(timeout=None)
    for verb in REVIEW_BUTTONS:
        view.add_item(ReviewButton(verb, reply_id))
    return view
