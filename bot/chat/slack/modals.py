"""The edit box for a reply to the customer: a Slack modal, built and read here.

Two modals share one layout: **Edit & send** on a suggestion (submitting sends the reply)
and **Edit** on a draft waiting for approval (submitting approves the edited text). What
the submission needs travels in the view's ``private_metadata`` as a small JSON object:
the conversation, the suggestion or draft, and the channel and thread to answer in.
Nothing here talks to Slack; it only builds and reads payloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
)
from slack_sdk.models.views import View

from bot.chat.slack.inbound import PayloadError
from bot.chat.slack.mrkdwn import clip_plain

SEND_CALLBACK = "crm_send_reply"  # Edit & send on a suggestion
REVIEW_CALLBACK = "crm_review_reply"  # Edit on a draft waiting for approval
TEXT_BLOCK = "reply_text"
TEXT_ACTION = "text"
INPUT_LIMIT = 3000  # Slack's cap on a plain_text_input's value
METADATA_LIMIT = 3000  # Slack's cap on private_metadata
ERROR_LIMIT = 1000  # a field error is one short paragraph under the box

Purpose = Literal["send", "review"]


@dataclass(frozen=True, slots=True)
class ModalContext:
    """What a submitted edit box is about, and where to tell the outcome."""

    purpose: Purpose
    channel: str
    thread_ts: str
    conversation_id: int | None = None  # send: the conversation to answer
    suggestion_id: int | None = None  # send: the suggestion it started from
    reply_id: int | None = None  # review: the draft being approved

    def to_metadata(self) -> str:
        """The context as the view's ``private_metadata``."""
        data = {
            "p": self.purpose,
            "ch": self.channel,
            "ts": self.thread_ts,
            "c": self.conversation_id,
            "s": self.suggestion_id,
            "r": self.reply_id,
        }
        text = json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))
        if len(text) > METADATA_LIMIT:
            raise PayloadError("the modal's context does not fit Slack's private_metadata")
        return text

    @classmethod
    def from_metadata(cls, text: str) -> ModalContext:
        """The context a view was opened with; a PayloadError when it is not ours."""
        try:
            data = json.loads(text[:METADATA_LIMIT])
        except ValueError:
            raise PayloadError("a modal without crmbot's private_metadata") from None
        if not isinstance(data, dict) or data.get("p") not in ("send", "review"):
            raise PayloadError("a modal without crmbot's private_metadata")
        channel, thread_ts = data.get("ch"), data.get("ts")
        if not (isinstance(channel, str) and isinstance(thread_ts, str)):
            raise PayloadError("a modal without its channel and thread")
        context = cls(
            purpose=data["p"],
            channel=channel,
            thread_ts=thread_ts,
            conversation_id=_number(data.get("c")),
            suggestion_id=_number(data.get("s")),
            reply_id=_number(data.get("r")),
        )
        needed = context.conversation_id if context.purpose == "send" else context.reply_id
        if needed is None:
            raise PayloadError(f"a {context.purpose} modal without its id")
        return context


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def edit_view(context: ModalContext, text: str) -> View:
    """The modal: one multiline box prefilled with ``text``; Send, or Approve for a draft."""
    if context.purpose == "send":
        title, submit = "Edit & send reply", "Send"
        lead = (
            f"Your reply to the customer of *#{context.conversation_id}*, published as a "
            "reply to their post (or sent for approval where the channel asks for it)."
        )
        callback = SEND_CALLBACK
    else:
        title, submit = f"Edit draft r{context.reply_id}"[:24], "Approve"
        lead = "Approving publishes the edited text as the reply to the customer."
        callback = REVIEW_CALLBACK
    box = PlainTextInputElement(
        action_id=TEXT_ACTION,
        multiline=True,
        initial_value=clip_plain(text, INPUT_LIMIT) if text else None,
        max_length=INPUT_LIMIT,
        focus_on_load=True,
    )
    return View(
        type="modal",
        callback_id=callback,
        title=PlainTextObject(text=title),
        submit=PlainTextObject(text=submit),
        close=PlainTextObject(text="Cancel"),
        private_metadata=context.to_metadata(),
        blocks=[
            ContextBlock(elements=[MarkdownTextObject(text=lead)]),
            InputBlock(block_id=TEXT_BLOCK, label=PlainTextObject(text="Reply"), element=box),
        ],
    )


def submitted_text(body: dict[str, Any]) -> str:
    """The text in the edit box of a ``view_submission`` (stripped; may be empty)."""
    view = body.get("view") or {}
    values = ((view.get("state") or {}).get("values") or {}).get(TEXT_BLOCK) or {}
    value = (values.get(TEXT_ACTION) or {}).get("value")
    return value.strip() if isinstance(value, str) else ""


def submission_context(body: dict[str, Any]) -> ModalContext:
    """The context of a ``view_submission``."""
    view = body.get("view") or {}
    return ModalContext.from_metadata(str(view.get("private_metadata") or ""))


def field_error(message: str) -> dict[str, Any]:
    """The ``response_action: errors`` answer that shows ``message`` under the text box
    (Slack keeps the modal open with the text as typed)."""
    return {"response_action": "errors", "errors": {TEXT_BLOCK: clip_plain(message, ERROR_LIMIT)}}
