"""`/crm ...` commands, parsed once and routed to platform-neutral handlers.

Every adapter hands a :class:`Command` to :func:`handle_command` and renders the
:class:`Reply`. A UserError becomes a reply with its reason; anything else is logged
with its traceback and the user gets a short generic answer.
"""

from __future__ import annotations

import difflib
import logging
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from handlers import actions, leads, privacy, reply_commands, reports
from handlers.access import allowed
from handlers.context import BotContext
from handlers.durations import format_duration
from handlers.errors import GENERIC_FAILURE, UserError
from handlers.events import Command
from handlers.metrics import metrics_reply
from handlers.replies import Reply, Table
from handlers.roles import effective_role, require
from handlers.sentiment import label
from handlers.sentiment.cards import describe
from handlers.suggest import staff as suggest_staff
from storage import conversations, handling
from storage import staff as staff_store
from storage.conversations import valid_id
from storage.models import Author, Staff

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Spec:
    usage: str
    summary: str
    run: Callable[[BotContext, Command, list[str]], Reply]


def _conversation_id(args: list[str], usage: str) -> int:
    if not args:
        raise UserError(f"Which conversation? Usage: `/crm {usage}`")
    raw = args[0].lstrip("#")
    if not (raw.isascii() and raw.isdigit()):
        raise UserError(f"{args[0][:40]!r} is not a conversation number. Usage: `/crm {usage}`")
    if len(raw) > 30 or not valid_id(int(raw)):  # a number no conversation can have
        shown = raw if len(raw) <= 30 else raw[:30] + "…"
        raise UserError(f"There is no conversation #{shown}. Try `/crm queue`.")
    return int(raw)


@allowed()
def _help(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    rows = tuple((f"/crm {spec.usage}", spec.summary) for spec in COMMANDS.values())
    return Reply(
        text="crmbot commands:",
        tables=(Table(title="Commands", columns=("command", "what it does"), rows=rows),),
        ephemeral=True,
    )


@allowed()
def _queue(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    now = ctx.clock.now()
    with ctx.db.session() as session:
        rows = conversations.open_queue(session, limit=20)
        total, unclaimed = conversations.count_open(session)
        names = staff_store.names_by_id(session)
    if not rows:
        return Reply(text="The queue is empty: no open conversations.")
    table_rows = tuple(
        (
            f"#{conv.id}",
            conv.severity,
            _who(author, conv.platform),
            label(conv.sentiment),
            format_duration((now - conv.created_at).total_seconds()),
            f"@{names[conv.assignee_id]}" if conv.assignee_id in names else "unclaimed",
            conv.title,
        )
        for conv, author in rows
    )
    shown = f" (showing {len(rows)})" if total > len(rows) else ""
    return Reply(
        text=f"{total} open conversations, {unclaimed} unclaimed{shown}.",
        tables=(
            Table(
                title="Queue",
                columns=("id", "severity", "from", "sentiment", "age", "owner", "what"),
                rows=table_rows,
            ),
        ),
    )


def _who(author: Author | None, platform: str) -> str:
    if author is None:
        return platform
    return f"@{author.handle} ({platform})"


@allowed()
def _mine(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    now = ctx.clock.now()
    with ctx.db.session() as session:
        me = actions.identify(session, ctx, cmd.actor)
        assert me.id is not None
        mine = conversations.assigned_to(session, me.id)
    if not mine:
        return Reply(text="You have no open conversations. `/crm queue` shows what is waiting.")
    rows = tuple(
        (f"#{c.id}", c.severity, format_duration((now - c.created_at).total_seconds()), c.title)
        for c in mine
    )
    return Reply(
        text=f"You have {len(mine)} open conversations.",
        tables=(Table(title="Yours", columns=("id", "severity", "age", "what"), rows=rows),),
    )


@allowed()
def _show(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    conv_id = _conversation_id(args, "show <id>")
    with ctx.db.session() as session:
        conv = conversations.get(session, conv_id)
        if conv is None:
            raise UserError(f"There is no conversation #{conv_id}. Try `/crm queue`.")
        names = staff_store.names_by_id(session)
        history = handling.events_of(session, conv_id)
    rows = tuple(
        (
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.kind,
            f"@{names[e.actor_id]}" if e.actor_id in names else "bot",
            str(e.detail.get("text", "")),
        )
        for e in history
    )
    owner = f"@{names[conv.assignee_id]}" if conv.assignee_id in names else "unclaimed"
    mood = (
        f"\nsentiment: {describe(conv.sentiment, conv.sentiment_by)}"
        if conv.kind == "mention"
        else ""
    )
    return Reply(
        text=f"#{conv.id} [{conv.status}, {owner}, {conv.severity}] {conv.title}{mood}",
        tables=(Table(title="History", columns=("when (UTC)", "what", "who", "note"), rows=rows),),
    )


@allowed()
def _claim(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return Reply(actions.claim(ctx, cmd.actor, _conversation_id(args, "claim <id>")).message)


@allowed()
def _reply(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    conv_id = _conversation_id(args, "reply <id> [text]")
    text = " ".join(args[1:]) or None
    return Reply(actions.reply(ctx, cmd.actor, conv_id, text).message)


@allowed()
def _resolve(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return Reply(actions.resolve(ctx, cmd.actor, _conversation_id(args, "resolve <id>")).message)


@allowed()
def _handoff(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    conv_id = _conversation_id(args, "handoff <id> @person")
    if len(args) < 2:
        raise UserError("To whom? Usage: `/crm handoff <id> @person`")
    return Reply(actions.hand_off(ctx, cmd.actor, conv_id, args[1]).message)


@allowed()
def _reopen(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return Reply(actions.reopen(ctx, cmd.actor, _conversation_id(args, "reopen <id>")).message)


@allowed()
def _lead(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    usage = COMMANDS["lead"].usage
    verb = args[0].lower() if args else ""
    if verb in ("approve", "reject"):
        conversation_id = _conversation_id(args[1:], usage)
        decide = leads.approve_lead if verb == "approve" else leads.reject_lead
        return Reply(text=decide(ctx, cmd.actor, conversation_id))
    return Reply(text=leads.create_lead(ctx, cmd.actor, _conversation_id(args, usage)))


@allowed()
def _metrics(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    period: str | None = None
    team: str | None = None
    source: str | None = None
    user: Staff | None = None
    flags: set[str] = set()
    with ctx.db.session() as session:
        asker: Staff = actions.identify(session, ctx, cmd.actor)
        for arg in args:
            if arg.startswith("team:"):
                team = arg.removeprefix("team:")
            elif arg.startswith("source:"):
                source = arg.removeprefix("source:")
            elif arg.startswith("@"):
                user = staff_store.staff_by_name(session, arg[1:])
                if user is None:
                    raise UserError(f"I don't know {arg}. Use a staff name, e.g. @ana.")
            elif arg.lower() in ("chart", "bh"):
                flags.add(arg.lower())
            elif period is None:
                period = arg
            else:
                raise UserError(f"Usage: `/crm {COMMANDS['metrics'].usage}`")
    role = effective_role(ctx.config, asker, cmd.actor)
    return metrics_reply(
        ctx,
        asker,
        role,
        period,
        team=team,
        source=source,
        user=user,
        business_hours="bh" in flags,
        chart="chart" in flags,
    )


@allowed("manager", "see the leaderboard")
def _leaderboard(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return reports.leaderboard_reply(ctx, args[0] if args else None)


@allowed("manager", "export metrics")
def _export(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return reports.export_reply(ctx, args[0] if args else None)


@allowed("manager", "see charts")
def _chart(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    team = next((a.removeprefix("team:") for a in args if a.startswith("team:")), None)
    source = next((a.removeprefix("source:") for a in args if a.startswith("source:")), None)
    period = next((a for a in args if ":" not in a), None)
    return reports.chart_reply(ctx, period, team=team, source=source)


@allowed()
def _admin(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    if args[:1] == ["forget"]:
        return _admin_forget(ctx, cmd, args[1:])
    if args[:1] != ["reload"]:
        raise UserError("Usage: `/crm admin reload` or `/crm admin forget HANDLE [PLATFORM]`")
    with ctx.db.session() as session:
        asker = actions.identify(session, ctx, cmd.actor)
    require(ctx.config, asker, cmd.actor, "admin", "reload the config")
    if ctx.reload_config is None:
        raise UserError("This bot was started without a config file to reload.")
    ok, message = ctx.reload_config(f"/crm admin reload by @{asker.name}")
    return Reply(text=message, ephemeral=not ok)


def _admin_forget(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    if not 1 <= len(args) <= 2:
        raise UserError("Usage: `/crm admin forget HANDLE [PLATFORM]`")
    with ctx.db.session() as session:
        asker = actions.identify(session, ctx, cmd.actor)
    require(ctx.config, asker, cmd.actor, "admin", "erase an author's data")
    who = f"{cmd.actor.platform}:{cmd.actor.user_id} (@{asker.name})"
    result = privacy.forget(ctx.db, ctx.clock, args[0], args[1] if len(args) > 1 else None, who)
    return Reply(text=result.summary(), ephemeral=True)


@allowed()
def _suggest(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return suggest_staff.suggest_command(ctx, args)


@allowed()
def _vote(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return suggest_staff.vote_command(ctx, cmd.actor, args)


@allowed()
def _use(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return suggest_staff.use_command(ctx, cmd.actor, args)


@allowed()
def _kb(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return suggest_staff.kb_command(ctx, args)


@allowed()
def _send(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return reply_commands.send(ctx, cmd, args)


@allowed()
def _approve(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return reply_commands.approve(ctx, cmd, args)


@allowed()
def _reject(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return reply_commands.reject(ctx, cmd, args)


@allowed()
def _drafts(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    return reply_commands.drafts(ctx, cmd, args)


COMMANDS: dict[str, _Spec] = {
    "help": _Spec("help", "this list", _help),
    "queue": _Spec("queue", "open conversations, unclaimed first", _queue),
    "mine": _Spec("mine", "your open conversations", _mine),
    "show": _Spec("show <id>", "a conversation and its handling history", _show),
    "claim": _Spec("claim <id>", "take a conversation", _claim),
    "reply": _Spec("reply <id> [text]", "record that you replied (and what)", _reply),
    "resolve": _Spec("resolve <id>", "close a conversation", _resolve),
    "handoff": _Spec("handoff <id> @person", "give a conversation to someone else", _handoff),
    "reopen": _Spec("reopen <id>", "work on a resolved conversation again", _reopen),
    "lead": _Spec(
        "lead [approve|reject] <id>", "make the author a CRM contact, with a note", _lead
    ),
    "metrics": _Spec(
        "metrics [7d|30d|...] [team:NAME] [source:NAME]",
        "times, SLA, per staff; also @user, bh (business hours), chart",
        _metrics,
    ),
    "leaderboard": _Spec("leaderboard [period]", "staff ranked by resolutions", _leaderboard),
    "export": _Spec("export [period]", "CSV of every conversation cycle (managers)", _export),
    "chart": _Spec("chart [period] [team:NAME]", "volume, sentiment, response times", _chart),
    "admin": _Spec(
        "admin reload|forget HANDLE",
        "re-read the config; erase an author's personal data (admins)",
        _admin,
    ),
    "suggest": _Spec("suggest <id>", "draft a new suggested reply", _suggest),
    "use": _Spec(
        "use s<n> | use kb<n> <id>",
        "send suggestion s<n>, or knowledge-base entry kb<n> on #<id>, as your reply",
        _use,
    ),
    "vote": _Spec("vote s<n> up|down", "rate suggestion s<n> (ranks the knowledge base)", _vote),
    "kb": _Spec("kb <words>", "search the approved replies (ids kb<n>)", _kb),
    "send": _Spec(
        "send <id> <text>", "answer the customer on their platform (if replies are on)", _send
    ),
    "approve": _Spec("approve r<n> [text]", "approve a drafted reply (as edited)", _approve),
    "reject": _Spec("reject r<n>", "reject a drafted reply; nothing is sent", _reject),
    "drafts": _Spec("drafts", "drafted replies waiting for your approval", _drafts),
}


PREFIX = "/crm"
ECHO_MAX = 40
_UNSAFE = re.compile(r"[`<>\\]|[^\S ]|[\x00-\x1f\x7f]")


def command_words(text: str) -> list[str]:
    """The words of a typed command, without a leading ``/crm`` (in any case)."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    while words and words[0].lower() == PREFIX:
        words = words[1:]
    return words


def echo(word: str, limit: int = ECHO_MAX) -> str:
    """What the user typed, safe to show back: clipped, with no markup or control
    characters (it may be rendered as Slack mrkdwn, Discord markdown or rich text)."""
    safe = _UNSAFE.sub("", word)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def unknown_command(name: str) -> Reply:
    """A short answer to a command we do not have: the closest one, and where the list is."""
    close = difflib.get_close_matches(name, COMMANDS, n=1, cutoff=0.6)
    hint = f" Did you mean `{PREFIX} {close[0]}`?" if close else ""
    return Reply(
        text=f"I don't know `{PREFIX} {echo(name)}`.{hint} `{PREFIX} help` lists the commands.",
        ephemeral=True,
    )


def handle_command(ctx: BotContext, cmd: Command) -> Reply:
    """Run a ``/crm`` command; never raises."""
    try:
        words = command_words(cmd.text)
        if not words:
            return _help(ctx, cmd, [])
        name, args = words[0].lower(), words[1:]
        spec = COMMANDS.get(name)
        if spec is None:
            return unknown_command(name)
        return spec.run(ctx, cmd, args)
    except UserError as exc:
        return Reply(text=exc.reason, ephemeral=True)
    except Exception:
        log.exception("command %r failed", echo(cmd.text.split(" ", 1)[0]))
        return Reply(text=GENERIC_FAILURE, ephemeral=True)
