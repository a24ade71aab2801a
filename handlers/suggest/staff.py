"""What staff do with suggestions, for every chat platform: vote, use, search, regenerate."""

from __future__ import annotations

from sqlmodel import Session

from handlers import actions, once
from handlers.context import BotContext
from handlers.errors import UserError
from handlers.events import Actor
from handlers.replies import Reply, Table
from handlers.suggest import knowledge
from handlers.suggest.gather import latest_message, suggestion_input
from handlers.suggest.offline import offline_draft
from handlers.suggest.service import SuggestionService
from storage import suggestions as store
from storage.conversations import valid_id
from storage.suggestions import Suggestion

VOTES = {"up": 1, "+1": 1, "👍": 1, "down": -1, "-1": -1, "👎": -1}


def _suggestion_id(raw: str, usage: str) -> int:
    value = raw.lstrip("#")
    if not (value.isascii() and value.isdigit()):
        raise UserError(f"{raw[:40]!r} is not a suggestion number. Usage: `/crm {usage}`")
    number = int(value[:30])
    if not valid_id(number):
        raise UserError(f"There is no suggestion {value[:30]}.")
    return number


def vote(ctx: BotContext, actor: Actor, suggestion_id: int, value: int) -> str:
    """Thumbs up (+1) or down (-1); an up-vote also approves the text into the knowledge base."""
    now = ctx.clock.now()
    with ctx.db.session() as session:
        staff = actions.identify(session, ctx, actor)
        suggestion = _suggestion(session, suggestion_id)
        assert staff.id is not None
        once.record(session, now)  # a redelivered vote is counted once
        previous = store.set_vote(session, suggestion, staff.id, value, now)
        if value > 0:
            knowledge.remember(
                session,
                suggestion.text,
                now,
                question=_question(session, suggestion),
                origin="approved",
                conversation_id=suggestion.conversation_id,
                staff_id=staff.id,
            )
    word = "👍" if value > 0 else "👎"
    if previous == value:
        return f"You already voted {word} on suggestion {suggestion_id}."
    return f"Thanks: {word} on suggestion {suggestion_id} (#{suggestion.conversation_id})."


def _suggestion(session: Session, suggestion_id: int) -> Suggestion:
    suggestion = session.get(Suggestion, suggestion_id) if valid_id(suggestion_id) else None
    if suggestion is None:
        raise UserError(f"There is no suggestion {suggestion_id}.")
    return suggestion


def _question(session: Session, suggestion: Suggestion) -> str:
    return latest_message(session, suggestion.conversation_id)


def use(ctx: BotContext, actor: Actor, suggestion_id: int) -> str:
    """Send the suggestion as the staff member's reply (recorded like `/crm reply`)."""
    with ctx.db.session() as session:
        actions.identify(session, ctx, actor)
        suggestion = _suggestion(session, suggestion_id)
        conversation_id, text = suggestion.conversation_id, suggestion.text
    result = actions.reply(ctx, actor, conversation_id, text)
    now = ctx.clock.now()
    with ctx.db.session() as session:
        stored = session.get(Suggestion, suggestion_id)
        staff = actions.identify(session, ctx, actor)
        assert stored is not None and staff.id is not None
        stored.used_by, stored.used_at = staff.id, now
        session.add(stored)
        store.set_vote(session, stored, staff.id, 1, now)
    return f"{result.message} (used suggestion {suggestion_id})"


def vote_command(ctx: BotContext, actor: Actor, args: list[str]) -> Reply:
    """``/crm vote <suggestion-id> up|down``."""
    usage = "vote <suggestion-id> up|down"
    if len(args) != 2 or args[1].lower() not in VOTES:
        raise UserError(f"Usage: `/crm {usage}`")
    return Reply(vote(ctx, actor, _suggestion_id(args[0], usage), VOTES[args[1].lower()]))


def use_command(ctx: BotContext, actor: Actor, args: list[str]) -> Reply:
    """``/crm use <suggestion-id>``."""
    if len(args) != 1:
        raise UserError("Usage: `/crm use <suggestion-id>`")
    return Reply(use(ctx, actor, _suggestion_id(args[0], "use <suggestion-id>")))


def kb_command(ctx: BotContext, args: list[str]) -> Reply:
    """``/crm kb <query>``: the approved replies that best fit the words, with their votes."""
    query = " ".join(args).strip()
    if not query:
        raise UserError("What should I look for? Usage: `/crm kb <words>`")
    with ctx.db.session() as session:
        found = knowledge.search(session, query, ctx.clock.now(), limit=10)
    if not found:
        return Reply(text=f"Nothing in the knowledge base matches {query!r}.")
    rows = tuple(
        (
            str(r.entry.id),
            f"{r.score:.2f}",
            f"+{r.entry.votes_up}/-{r.entry.votes_down}",
            r.entry.origin,
            r.entry.text,
        )
        for r in found
    )
    return Reply(
        text=f"{len(found)} approved replies for {query!r}, best first:",
        tables=(
            Table(
                title="Knowledge base",
                columns=("id", "score", "votes", "from", "reply"),
                rows=rows,
            ),
        ),
    )


def suggest_command(ctx: BotContext, args: list[str]) -> Reply:
    """``/crm suggest <conversation-id>``: draft a new suggestion."""
    raw = args[0].lstrip("#") if args else ""
    if not (raw.isascii() and raw.isdigit()):
        raise UserError("Which conversation? Usage: `/crm suggest <id>`")
    conversation_id = int(raw[:30])
    if not valid_id(conversation_id):
        raise UserError(f"There is no conversation #{raw[:30]}. Try `/crm queue`.")
    with ctx.db.session() as session:
        data = suggestion_input(session, conversation_id)
        ranked = knowledge.search(session, data.mention, ctx.clock.now()) if data else []
    if data is None:
        raise UserError(f"There is no conversation #{conversation_id}. Try `/crm queue`.")
    if ctx.request_suggestion is not None and ctx.request_suggestion(conversation_id):
        return Reply(f"Drafting a new suggestion for #{conversation_id}; it follows the alert.")
    limit = ctx.config.suggestions.limit_for(data.platform)
    suggestion_id = SuggestionService(ctx).store(data, offline_draft(data, ranked, limit))
    return Reply(f"New suggestion {suggestion_id} for #{conversation_id} (offline).")
