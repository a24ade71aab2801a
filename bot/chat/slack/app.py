"""The Bolt app: ``/crm``, the alert, suggestion and reply buttons, the reply edit box,
and staff messages in alert threads.

Every listener acknowledges first (Slack wants an answer within 3 seconds), then does the
database work in a thread and answers through ``respond()`` (the payload's response_url).
A UserError's reason is shown as written; anything else is logged with its traceback and
the user sees the generic failure line, never exception text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack import review, suggestions
from bot.chat.slack.blocks import ACTION_PREFIX
from bot.chat.slack.composer import ReplyComposer, tell_in_thread
from bot.chat.slack.connection import SlackConnection
from bot.chat.slack.errors import CALL_ERRORS
from bot.chat.slack.identity import SlackIdentities
from bot.chat.slack.inbound import (
    PayloadError,
    ThreadMessage,
    action_from,
    action_user,
    command_from,
    command_user,
    event_delivery,
    mentioned_users,
    thread_message,
    unusable,
)
from bot.chat.slack.replies import reply_blocks, reply_text
from handlers.errors import GENERIC_FAILURE, UserError
from handlers.inbound_port import ChatInbound
from handlers.replies import Reply

log = logging.getLogger(__name__)

COMMAND = "/crm"


class SlackListeners:
    """What the bot does with slash commands, button presses and thread messages."""

    def __init__(
        self,
        inbound: Callable[[], ChatInbound],
        identities: SlackIdentities,
        client: AsyncWebClient,
    ) -> None:
        self._inbound = inbound
        self.identities = identities
        self.client = client

    async def on_command(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """``/crm ...``: acknowledge, run the command, answer with its reply."""
        await ack()
        reply = await self._command_reply(body)
        await _respond(
            respond,
            text=reply_text(reply),
            blocks=[block.to_dict() for block in reply_blocks(reply)],
            response_type="ephemeral" if reply.ephemeral else "in_channel",
        )
        if reply.attachments:
            await self._upload(body, reply)

    async def _upload(self, body: dict[str, Any], reply: Reply) -> None:
        """Files go where the answer went: the channel, or a direct message when the answer
        was only for the asker (files_upload_v2: get URL, upload, complete)."""
        try:
            channel = str(body.get("channel_id", ""))
            if reply.ephemeral:
                opened = await self.client.conversations_open(users=str(body.get("user_id", "")))
                channel = str(opened["channel"]["id"])
            for attachment in reply.attachments:
                await self.client.files_upload_v2(
                    channel=channel,
                    file=attachment.data,
                    filename=attachment.filename,
                    title=attachment.filename,
                )
        except CALL_ERRORS as exc:
            log.warning("uploading a file to Slack failed: %s", type(exc).__name__)

    async def _command_reply(self, body: dict[str, Any]) -> Reply:
        try:
            actor = await self.identities.actor(*command_user(body))
            command = command_from(body, actor)
            mentioned = {
                user_id: await self.identities.actor(user_id, name)
                for user_id, name in mentioned_users(str(body.get("text") or ""))
            }
            return await self._inbound().command(command, mentioned)
        except PayloadError as exc:
            return Reply(text=unusable(exc), ephemeral=True)
        except Exception:
            log.exception("Slack /crm command failed")
            return Reply(text=GENERIC_FAILURE, ephemeral=True)

    async def on_action(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """A button or the hand-off picker on an alert: acknowledge, act, tell the presser."""
        await ack()
        text = await self._action_result(body)
        await _respond(respond, text=text, response_type="ephemeral", replace_original=False)

    async def _action_result(self, body: dict[str, Any]) -> str:
        try:
            actor = await self.identities.actor(*action_user(body))
            action = action_from(body, actor)
            target = None
            if action.name == "handoff" and action.value:
                target = await self.identities.actor(action.value)
            return await self._inbound().action(action, target)
        except UserError as exc:
            return exc.reason
        except PayloadError as exc:
            return unusable(exc)
        except Exception:
            log.exception("Slack button failed")
            return GENERIC_FAILURE

    async def on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """A staff member's message in an alert's thread is their reply to the customer
        (once per ``event_id``: Slack redelivers events it thinks went unanswered)."""
        message = thread_message(event)
        if message is None:
            return
        try:
            actor = await self.identities.actor(message.user_id)
            await self._inbound().thread_message(
                actor, message.channel, message.thread_ts, message.text, event_delivery(body)
            )
        except UserError as exc:
            await self._tell(message, exc.reason)
        except Exception:
            log.exception("recording a Slack thread reply failed")
            await self._tell(message, GENERIC_FAILURE)

    async def _tell(self, message: ThreadMessage, text: str) -> None:
        """An ephemeral note to the author of ``message``, in its thread."""
        await tell_in_thread(self.client, message.channel, message.user_id, message.thread_ts, text)


async def _respond(respond: AsyncRespond, **kwargs: Any) -> None:
    try:
        response = await respond(**kwargs)
    except CALL_ERRORS as exc:
        log.warning("answering through response_url failed: %s", type(exc).__name__)
        return
    if response.status_code != 200:
        log.warning("answering through response_url failed: HTTP %s", response.status_code)


def build_app(
    client: AsyncWebClient, connection: SlackConnection, listeners: SlackListeners
) -> AsyncApp:
    """The Bolt app with crmbot's listeners; Bolt verifies every HTTP request's signature."""
    secret = connection.signing_secret
    app = AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret is not None else "",
        process_before_response=False,
    )
    app.command(COMMAND)(listeners.on_command)
    app.action(re.compile(f"^{re.escape(ACTION_PREFIX)}"))(listeners.on_action)
    inbound, identities = listeners._inbound, listeners.identities
    composer = ReplyComposer(inbound, identities, client)
    suggestions.register(app, suggestions.SuggestionListeners(inbound, identities, composer))
    review.register(app, review.ReviewListeners(inbound, identities, composer))
    app.event("message")(listeners.on_message)
    return app
