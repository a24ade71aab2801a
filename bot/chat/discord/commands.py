"""``/crm`` as an app command group, with the same commands as on Slack.

Each subcommand turns its options back into the neutral command text (``claim 12``,
``handoff 12 <@id>``) and hands it to :meth:`DiscordListeners.on_command`; the handlers
parse it exactly as they parse Slack's. Conversation ids autocomplete from the open queue.
Personal answers (help, mine, exports, suggestion use and votes, replies sent, approved
or rejected, drafts) are deferred ephemeral.
"""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands

from bot.chat.discord.listeners import DiscordListeners

Interaction = discord.Interaction[Any]


def _listeners(interaction: Interaction) -> DiscordListeners:
    listeners = getattr(interaction.client, "components", None)
    if not isinstance(listeners, DiscordListeners):
        raise RuntimeError("the Discord client has no listeners")
    return listeners


async def conversation_choices(
    interaction: Interaction, current: str
) -> list[app_commands.Choice[int]]:
    """Open conversations matching what was typed (``/crm claim 1`` -> #1, #12, #15…)."""
    return await _listeners(interaction).choices(interaction, current)


async def _run(
    interaction: Interaction,
    *words: object,
    private: bool = False,
    mentioned: dict[str, discord.User | discord.Member] | None = None,
) -> None:
    text = " ".join(str(w) for w in words if w is not None and str(w) != "")
    await _listeners(interaction).on_command(
        interaction, text, private=private, mentioned=mentioned
    )


class AdminGroup(app_commands.Group):
    """``/crm admin ...`` (admins)."""

    def __init__(self) -> None:
        super().__init__(name="admin", description="Bot administration (admins)")

    @app_commands.command(name="reload", description="Re-read the config file")
    async def reload(self, interaction: Interaction) -> None:
        await _run(interaction, "admin", "reload")


class CrmGroup(app_commands.Group):
    """``/crm``: work conversations, ask for metrics, manage the bot."""

    def __init__(self) -> None:
        super().__init__(name="crm", description="crmbot: social conversations, metrics")
        self.add_command(AdminGroup())

    @app_commands.command(name="help", description="The commands")
    async def help(self, interaction: Interaction) -> None:
        await _run(interaction, "help", private=True)

    @app_commands.command(name="queue", description="Open conversations, unclaimed first")
    async def queue(self, interaction: Interaction) -> None:
        await _run(interaction, "queue")

    @app_commands.command(name="mine", description="Your open conversations")
    async def mine(self, interaction: Interaction) -> None:
        await _run(interaction, "mine", private=True)

    @app_commands.command(name="show", description="A conversation and its handling history")
    @app_commands.describe(conversation="The conversation number")
    @app_commands.autocomplete(conversation=conversation_choices)
    async def show(self, interaction: Interaction, conversation: int) -> None:
        await _run(interaction, "show", conversation)

    @app_commands.command(name="claim", description="Take a conversation")
    @app_commands.describe(conversation="The conversation number")
    @app_commands.autocomplete(conversation=conversation_choices)
    async def claim(self, interaction: Interaction, conversation: int) -> None:
        await _run(interaction, "claim", conversation)

    @app_commands.command(name="reply", description="Record that you replied (and what)")
    @app_commands.describe(conversation="The conversation number", text="What you said")
    @app_commands.autocomplete(conversation=conversation_choices)
    async def reply(
        self, interaction: Interaction, conversation: int, text: str | None = None
    ) -> None:
        await _run(interaction, "reply", conversation, text)

    @app_commands.command(name="resolve", description="Close a conversation")
    @app_commands.describe(conversation="The conversation number")
    @app_commands.autocomplete(conversation=conversation_choices)
    async def resolve(self, interaction: Interaction, conversation: int) -> None:
        await _run(interaction, "resolve", conversation)

    @app_commands.command(name="handoff", description="Give a conversation to someone else")
    @app_commands.describe(conversation="The conversation number", to="Who takes it over")
    @app_commands.autocomplete(conversation=conversation_choices)
    async def handoff(
        self, interaction: Interaction, conversation: int, to: discord.Member
    ) -> None:
        await _run(interaction, "handoff", conversation, f"<@{to.id}>", mentioned={str(to.id): to})

    @app_commands.command(name="reopen", description="Work on a resolved conversation again")
    @app_commands.describe(conversation="The conversation number")
    @app_commands.autocomplete(conversation=conversation_choices)
    async def reopen(self, interaction: Interaction, conversation: int) -> None:
        await _run(interaction, "reopen", conversation)

    @app_commands.command(name="metrics", description="Times, SLA, per staff (managers)")
    @app_commands.describe(
        options="e.g. 30d team:support source:twitter bh chart, or a person: @ana"
    )
    async def metrics(self, interaction: Interaction, options: str | None = None) -> None:
        await _run(interaction, "metrics", options)

    @app_commands.command(name="leaderboard", description="Staff ranked by resolutions")
    @app_commands.describe(period="e.g. 7d or 30d")
    async def leaderboard(self, interaction: Interaction, period: str | None = None) -> None:
        await _run(interaction, "leaderboard", period)

    @app_commands.command(name="export", description="CSV of every conversation cycle, by DM")
    @app_commands.describe(period="e.g. 7d or 30d")
    async def export(self, interaction: Interaction, period: str | None = None) -> None:
        await _run(interaction, "export", period, private=True)

    @app_commands.command(name="chart", description="Volume, sentiment and response times")
    @app_commands.describe(options="e.g. 30d team:support")
    async def chart(self, interaction: Interaction, options: str | None = None) -> None:
        await _run(interaction, "chart", options)

    @app_commands.command(name="suggest", description="Draft a new suggested reply")
    @app_commands.describe(conversation="The conversation number")
    @app_commands.autocomplete(conversation=conversation_choices)
    async def suggest(self, interaction: Interaction, conversation: int) -> None:
        await _run(interaction, "suggest", conversation)

    @app_commands.command(name="use", description="Record a suggested reply you sent elsewhere")
    @app_commands.describe(
        suggestion="A suggestion (s33), or a knowledge-base entry (kb12)",
        conversation="For a knowledge-base entry: the conversation it answers",
    )
    @app_commands.autocomplete(conversation=conversation_choices)
    async def use(
        self, interaction: Interaction, suggestion: str, conversation: int | None = None
    ) -> None:
        await _run(interaction, "use", suggestion, conversation, private=True)

    @app_commands.command(name="send", description="Answer the customer on their platform")
    @app_commands.describe(
        conversation="The conversation number", text="What the customer reads, as typed"
    )
    @app_commands.autocomplete(conversation=conversation_choices)
    async def send(self, interaction: Interaction, conversation: int, text: str) -> None:
        await _run(interaction, "send", conversation, text, private=True)

    @app_commands.command(name="approve", description="Approve a drafted reply (as edited)")
    @app_commands.describe(reply="The draft, e.g. r12", text="The edited text, if you change it")
    async def approve(self, interaction: Interaction, reply: str, text: str | None = None) -> None:
        await _run(interaction, "approve", reply, text, private=True)

    @app_commands.command(name="reject", description="Reject a drafted reply; nothing is sent")
    @app_commands.describe(reply="The draft, e.g. r12")
    async def reject(self, interaction: Interaction, reply: str) -> None:
        await _run(interaction, "reject", reply, private=True)

    @app_commands.command(name="drafts", description="Drafted replies waiting for approval")
    async def drafts(self, interaction: Interaction) -> None:
        await _run(interaction, "drafts", private=True)

    @app_commands.command(name="lead", description="Make the author a CRM lead")
    @app_commands.describe(
        conversation="The conversation number",
        decision="Approve or reject a lead someone asked for (when leads need approval)",
    )
    @app_commands.autocomplete(conversation=conversation_choices)
    async def lead(
        self,
        interaction: Interaction,
        conversation: int,
        decision: Literal["approve", "reject"] | None = None,
    ) -> None:
        await _run(interaction, "lead", decision, conversation, private=decision is not None)

    @app_commands.command(name="vote", description="Rate a suggested reply")
    @app_commands.describe(suggestion="The suggestion, e.g. s33", verdict="up or down")
    async def vote(
        self, interaction: Interaction, suggestion: str, verdict: Literal["up", "down"]
    ) -> None:
        await _run(interaction, "vote", suggestion, verdict, private=True)

    @app_commands.command(name="kb", description="Search the approved replies")
    @app_commands.describe(words="What to look for")
    async def kb(self, interaction: Interaction, words: str) -> None:
        await _run(interaction, "kb", words)
