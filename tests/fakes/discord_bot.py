"""crmbot with its real Discord adapter (and the real discord.py client) against
:class:`FakeDiscord`; what people do in Discord arrives as gateway events.

Pass ``fake=`` to start a second bot on the same fake Discord (a restart, a replica).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from bot.app import CrmBot
from bot.chat.base import ChatAdapter
from bot.chat.discord import DiscordAdapter, DiscordConnection
from handlers.clock import FakeClock
from handlers.config import CrmbotConfig, DiscordConfig
from storage import outbox as outbox_store
from tests.conftest import make_config
from tests.fakes.discord_api import APP_ID, GUILD_ID, TOKEN, Answer, FakeDiscord, Message

STAFF_IDS = {
    "lead": "2000000000000000001",
    "ana": "2000000000000000002",
    "ben": "2000000000000000003",
}
STRANGER = "2000000000000000099"
ROLE_SUPPORT = "3000000000000000001"
HELPER = "2000000000000000050"  # not in [[staff]], but has the support role
CHANNEL_IDS = {
    "support": "4000000000000000001",
    "sales": "4000000000000000002",
    "social": "4000000000000000003",
}
ALERTS_ONLY = {"sales"}


def discord_config(base: CrmbotConfig | None = None) -> CrmbotConfig:
    """The test config with Discord channel ids (sales is alerts-only), staff user ids, the
    guild, and the support role counted as staff."""
    config = base or make_config()
    channels = {
        name: channel.model_copy(
            update={
                "discord": CHANNEL_IDS.get(name),
                "mode": "alerts-only" if name in ALERTS_ONLY else channel.mode,
            }
        )
        for name, channel in config.channels.items()
    }
    staff = [
        member.model_copy(update={"discord": STAFF_IDS.get(member.name)}) for member in config.staff
    ]
    roles = config.roles.model_copy(update={"staff": [f"discord-role:{ROLE_SUPPORT}"]})
    return config.model_copy(
        update={
            "channels": channels,
            "staff": staff,
            "roles": roles,
            "discord": DiscordConfig(guilds=[GUILD_ID]),
        }
    )


def make_fake() -> FakeDiscord:
    """A guild with the test channels, staff, a helper with the support role and a stranger."""
    members: dict[str, tuple[str, list[str]]] = {uid: (name, []) for name, uid in STAFF_IDS.items()}
    members[HELPER] = ("helper", [ROLE_SUPPORT])
    members[STRANGER] = ("stranger", [])
    return FakeDiscord(
        channels={cid: name for name, cid in CHANNEL_IDS.items()},
        members=members,
        roles={ROLE_SUPPORT: "support"},
    )


def make_adapter(fake: FakeDiscord, **kwargs: Any) -> DiscordAdapter:
    """The production adapter pointed at the fake."""
    connection = DiscordConnection(
        token=SecretStr(TOKEN),
        api_url=fake.api_url,
        gateway_url=kwargs.pop("gateway_url", fake.gateway_url),
        max_ratelimit_timeout=kwargs.pop("max_ratelimit_timeout", 30.0),
    )
    return DiscordAdapter(connection, ready_timeout=10.0, guild_ready_timeout=0.05, **kwargs)


@dataclass
class DiscordGuild:
    """People in the fake guild: they press buttons, type ``/crm``, fill in modals and
    write in threads, as gateway events to whatever client is connected."""

    fake: FakeDiscord
    answers: list[Answer] = field(default_factory=list, kw_only=True)

    # -- payloads ---------------------------------------------------------------------------

    def member(self, user_id: str) -> dict[str, Any]:
        """An interaction's member: like GUILD_CREATE's, plus permissions as a string."""
        return {**self.fake.member_payload(user_id), "permissions": "2147483647"}

    def _interaction(
        self, kind: int, user: str, channel: str, data: dict[str, Any], message: Message | None
    ) -> tuple[dict[str, Any], Answer]:
        token = f"tok-{uuid.uuid4().hex}"
        answer = self.fake.expect_interaction(token, channel, kind)
        payload: dict[str, Any] = {
            "id": self.fake.next_id(),
            "application_id": APP_ID,
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": GUILD_ID,
            "channel_id": channel,
            "channel": {"id": channel, "type": 0, "guild_id": GUILD_ID, "name": "support"},
            "member": self.member(user),
            "data": data,
            "app_permissions": "2147483647",
            "attachment_size_limit": 10 * 1024 * 1024,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD_ID},
            "context": 0,
        }
        if message is not None:
            payload["message"] = message.payload(GUILD_ID)
        return payload, answer

    async def _run(self, payload: dict[str, Any], answer: Answer) -> Answer:
        self.answers.append(answer)
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        await self.fake.wait_for(lambda: answer.callback is not None and _finished(answer))
        return answer

    # -- what people do ---------------------------------------------------------------------

    async def press(
        self,
        message: Message,
        custom_id: str,
        user: str = STAFF_IDS["ana"],
        picked: str | None = None,
    ) -> Answer:
        """Press a button (or pick a person in the hand-off menu) on ``message`` as the
        channel shows it now (a button that is no longer there cannot be pressed)."""
        message = self.fake.messages[message.id]
        assert custom_id in message.custom_ids, f"{custom_id} is not on the message"
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2}
        if picked is not None:
            data = {
                "custom_id": custom_id,
                "component_type": 5,
                "values": [picked],
                "resolved": {
                    "users": {picked: self.fake.member_payload(picked)["user"]},
                    "members": {
                        picked: {k: v for k, v in self.member(picked).items() if k != "user"}
                    },
                },
            }
        payload, answer = self._interaction(3, user, message.channel_id, data, message)
        return await self._run(payload, answer)

    async def submit(
        self, opened: Answer, values: dict[str, str], user: str = STAFF_IDS["ana"]
    ) -> Answer:
        """Fill in the modal the bot answered ``opened`` with (field custom_id -> text) and
        press Submit: a MODAL_SUBMIT interaction (type 5) shaped as the modal was."""
        modal = opened.modal
        assert modal is not None, "the bot did not answer with a modal"
        submitted = []
        for component in modal["components"]:
            if component["type"] == 18:  # a Label holding one input
                inner = component["component"]
                filled = {"type": inner["type"], "custom_id": inner["custom_id"]}
                filled["value"] = values.get(inner["custom_id"], inner.get("value", ""))
                if "id" in inner:
                    filled["id"] = inner["id"]
                submitted.append({"type": 18, "id": component.get("id"), "component": filled})
            else:  # an action row holding one input (the older shape)
                inner = component["components"][0]
                value = values.get(inner["custom_id"], inner.get("value", ""))
                submitted.append(
                    {
                        "type": 1,
                        "components": [
                            {"type": 4, "custom_id": inner["custom_id"], "value": value}
                        ],
                    }
                )
        data = {"custom_id": modal["custom_id"], "components": submitted}
        payload, answer = self._interaction(5, user, opened.channel_id, data, None)
        return await self._run(payload, answer)

    def _command_data(self, words: list[str], options: dict[str, Any]) -> dict[str, Any]:
        command = next(c for c in self.fake.commands[GUILD_ID] if c["name"] == "crm")
        typed = []
        for name, value in options.items():
            kind = 4 if isinstance(value, int) else 3
            option: dict[str, Any] = {"name": name, "type": kind, "value": value}
            if isinstance(value, dict):  # a person: {"user": id}
                option = {"name": name, "type": 6, "value": value["user"]}
            typed.append(option)
        inner: list[dict[str, Any]] = [{"name": words[-1], "type": 1, "options": typed}]
        if len(words) == 2:
            inner = [{"name": words[0], "type": 2, "options": inner}]
        data: dict[str, Any] = {
            "id": command["id"],
            "name": "crm",
            "type": 1,
            "guild_id": GUILD_ID,
            "options": inner,
        }
        people = [o["value"] for o in typed if o["type"] == 6]
        if people:
            data["resolved"] = {
                "users": {p: self.fake.member_payload(p)["user"] for p in people},
                "members": {
                    p: {k: v for k, v in self.member(p).items() if k != "user"} for p in people
                },
            }
        return data

    async def slash(
        self,
        command: str,
        user: str = STAFF_IDS["ana"],
        channel: str = CHANNEL_IDS["support"],
        **options: Any,
    ) -> Answer:
        """``/crm <command> option:value ...`` (``command`` may be ``admin reload``)."""
        data = self._command_data(command.split(), options)
        payload, answer = self._interaction(2, user, channel, data, None)
        return await self._run(payload, answer)

    async def autocomplete(
        self, command: str, option: str, typed: str, user: str = STAFF_IDS["ana"]
    ) -> list[dict[str, Any]]:
        """Type into an autocompleted option; returns the choices offered."""
        data = self._command_data([command], {option: typed})
        data["options"][0]["options"][0].update(type=4, focused=True)
        payload, answer = self._interaction(4, user, CHANNEL_IDS["support"], data, None)
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        await self.fake.wait_for(lambda: answer.callback is not None)
        assert answer.callback is not None and answer.callback["type"] == 8
        return list(answer.callback["data"]["choices"])

    async def say_in_thread(
        self, thread_id: str, text: str, user: str = STAFF_IDS["ana"]
    ) -> Message:
        """A person writes in a thread (MESSAGE_CREATE; the content needs the intent)."""
        message = Message(
            id=self.fake.next_id(),
            channel_id=thread_id,
            content=text,
            embeds=[],
            components=[],
            author=self.fake.member_payload(user)["user"],
        )
        self.fake.messages[message.id] = message
        payload = {
            **message.payload(GUILD_ID),
            "member": {k: v for k, v in self.fake.member_payload(user).items() if k != "user"},
            "timestamp": datetime.now(UTC).isoformat(),
        }
        await self.fake.dispatch("MESSAGE_CREATE", payload)
        return message


@dataclass
class DiscordBot(DiscordGuild):
    """The bot as a Discord guild meets it."""

    bot: CrmBot
    adapter: DiscordAdapter
    clock: FakeClock
    dispatcher_running: bool = False

    async def deliver(self) -> int:
        """Post what the outbox holds now; with the dispatcher running, just wake it."""
        if self.dispatcher_running:
            self.bot.dispatcher.wake()
            return 0
        posted = await self.bot.dispatcher.drain()
        await self.adapter.idle()  # alerts' threads are opened in the background
        return posted

    async def settle(self, seconds: float = 10.0) -> None:
        """With the dispatcher running: wait (bounded) until the outbox has nothing pending."""
        for _ in range(int(seconds / 0.01)):
            with self.bot.db.session() as session:
                if outbox_store.pending_count(session) == 0:
                    await self.adapter.idle()
                    return
            await asyncio.sleep(0.01)
        raise AssertionError("the outbox did not empty in time")


def _finished(answer: Answer) -> bool:
    """The bot has finished answering: the deferred message was filled in or replaced, or
    the first response was the answer itself (a message, or a modal to fill in)."""
    kind = (answer.callback or {}).get("type")
    if answer.followups or kind in (4, 9):
        return True
    return answer.original is not None and answer.original.edits > 0


@contextlib.asynccontextmanager
async def discord_bot(
    database_url: str,
    clock: FakeClock,
    *,
    run_dispatcher: bool = False,
    config: CrmbotConfig | None = None,
    fake: FakeDiscord | None = None,
    extra_adapters: list[ChatAdapter] | None = None,
    **adapter_options: Any,
) -> AsyncIterator[DiscordBot]:
    """The whole bot on the fake Discord; ``run_dispatcher`` runs the outbox loop as
    ``crmbot run`` does."""
    own = fake is None
    if fake is None:
        fake = make_fake()
        await fake.start()
    try:
        adapter = make_adapter(fake, **adapter_options)
        bot = CrmBot(
            database_url,
            config or discord_config(),
            [adapter, *(extra_adapters or [])],
            clock=clock,
        )
        stop = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(bot.db.dispose)
            stack.callback(bot.ingestor.close)
            await bot.start()
            stack.push_async_callback(bot.stop)
            dispatcher = None
            if run_dispatcher:
                bot.dispatcher.poll_interval = 0.05
                dispatcher = asyncio.create_task(bot.dispatcher.run(stop))
            try:
                yield DiscordBot(fake, bot, adapter, clock, run_dispatcher)
            finally:
                stop.set()
                if dispatcher is not None:
                    await dispatcher
    finally:
        if own:
            await fake.stop()
