"""What staff do with suggestions, for every chat platform: vote, use, search, regenerate.

Ids name their kind (``handlers/ids.py``): ``/crm use s33`` sends suggestion s33,
``/crm use kb12 33`` sends knowledge-base entry kb12 on conversation #33, and a command
given another kind of id refuses. Using a suggestion records the reply (and when it was
used) but is no vote: only ``/crm vote`` and the 👍/👎 buttons rank the knowledge base.
"""

from __future__ import annotations

from sqlmodel import Session

from handlers import actions, once, publishing
from handlers.context import BotContext
from handlers.errors import UserError
from handlers.events import Actor
from handlers.ids import Kind, expect, kb_ref, parse, suggestion_ref
from handlers.replies import Reply, Table
from handlers.suggest import knowledge
from handlers.suggest.gather import latest_message, suggestion_input
from handlers.suggest.offline import offline_draft
from handlers.suggest.service import SuggestionService
from storage import conversations
from storage import suggestions as store
from storage.conversations import valid_id
from storage.models import Author
from storage.suggestions import KnowledgeEntry, Suggestion

VOTES = {"up": 1, "+1": 1, "👍": 1, "down": -1, "-1": -1, "👎": -1}
VOTE_USAGE = "vote <suggestion-id> up|down"
USE_USAGE = "use <suggestion-id>  or  use <kb-id> <conversation>"
SUGGEST_USAGE = "suggest <conversation>"


def _suggestion(session: Session, suggestion_id: int) -> Suggestion:
    suggestion = session.get(Suggestion, suggestion_id) if valid_id(suggestion_id) else None
    if suggestion is None:
        raise UserError(f"There is no suggestion {suggestion_ref(suggestion_id)}.")
    return suggestion


def vote(ctx: BotContext, actor: Actor, suggestion_id: int, value: int) -> str:
    """Thumbs up (+1) or down (-1); an up-vote also approves the text into the knowledge base."""
    now = ctx.clock.now()
    sid = suggestion_ref(suggestion_id)
    with ctx.db.session() as session:
        suggestion = _suggestion(session, suggestion_id)
        staff = actions.identify(session, ctx, actor)
        suggestion = _suggestion(session, suggestion_id)
        assert staff.id is not None
        once.record(session, now)  # a redelivered vote is counted once
        previous = store.set_vote(session, suggestion, staff.id, value, now)
        if value > 0:
            knowledge.remember(
                session,
                _impersonal(session, suggestion),
                now,
                question=latest_message(session, suggestion.conversation_id),
                origin="approved",
                conversation_id=suggestion.conversation_id,
                staff_id=staff.id,
            )
    word = "👍" if value > 0 else "👎"
    if previous == value:
        return f"You already voted {word} on suggestion {sid}."
    return f"Thanks: {word} on suggestion {sid} (#{suggestion.conversation_id})."


def _impersonal(session: Session, suggestion: Suggestion) -> str:
    """The suggestion's text with its customer's name as the placeholder, so approving it
    never makes the knowledge base greet that customer in someone else's reply."""
    conv = conversations.get(session, suggestion.conversation_id)
    author = session.get(Author, conv.author_id) if conv is not None and conv.author_id else None
    if author is None:
        return suggestion.text
    return knowledge.depersonalize(suggestion.text, author.handle, author.display_name)


def use(
    ctx: BotContext, actor: Actor, suggestion_id: int, conversation_id: int | None = None
) -> str:
    """Use the suggestion as the staff member's reply. Where replies from chat are on
    (reply_mode direct or approve) that is Send: it is published, or drafted for approval
    (handlers/publishing.py). Where they are off, crmbot sends nothing: the use records
    that the person replied elsewhere (like `/crm reply`) and says so. The use is recorded
    on the suggestion; it is not a vote. ``conversation_id``, when given, must be the
    suggestion's own."""
    sid = suggestion_ref(suggestion_id)
    with ctx.db.session() as session:
        suggestion = _suggestion(session, suggestion_id)
        target, text = suggestion.conversation_id, suggestion.text
        conv = conversations.get(session, target)
        mode = publishing.mode_of(ctx.config, conv) if conv is not None else "off"
    if conversation_id is not None and conversation_id != target:
        raise UserError(
            f"Suggestion {sid} is for #{target}, not #{conversation_id}. "
            f"`/crm suggest {conversation_id}` drafts one for #{conversation_id}."
        )
    if mode != "off":
        return publishing.send(ctx, actor, target, text, suggestion_id)
    result = actions.reply(ctx, actor, target, text)
    now = ctx.clock.now()
    with ctx.db.session() as session:
        stored = _suggestion(session, suggestion_id)
        staff = actions.identify(session, ctx, actor)
        stored.used_by, stored.used_at = staff.id, now
        session.add(stored)
    return (
        f"{elsewhere(result.message)} Used suggestion {sid}; `/crm vote {sid} up` if it was good."
    )


def elsewhere(recorded: str) -> str:
    """An answer that says plainly nothing was sent from chat (replies are off here)."""
    return (
        f"{recorded.rstrip('.')}, as sent by you on the platform: crmbot published nothing "
        "(replies from chat are off here)."
    )


def use_entry(ctx: BotContext, actor: Actor, entry_id: int, conversation_id: int) -> str:
    """Send knowledge-base entry ``entry_id`` as the reply on ``conversation_id``, with the
    conversation's author in place of the entry's ``{handle}``."""
    with ctx.db.session() as session:
        entry = session.get(KnowledgeEntry, entry_id)
        if entry is None:
            raise UserError(f"There is no knowledge-base entry {kb_ref(entry_id)}. Try `/crm kb`.")
        conv = conversations.get(session, conversation_id)
        if conv is None:
            raise UserError(f"There is no conversation #{conversation_id}. Try `/crm queue`.")
        author = session.get(Author, conv.author_id) if conv.author_id else None
        text = knowledge.render(entry.text, f"@{author.handle}" if author else "there")
    result = actions.reply(ctx, actor, conversation_id, text)
    return f"{elsewhere(result.message)} Used knowledge-base entry {kb_ref(entry_id)}."


def _newest_hint(ctx: BotContext, conversation_id: int) -> str:
    with ctx.db.session() as session:
        newest = store.latest_for(session, conversation_id)
    if newest is None or newest.id is None:
        return f"#{conversation_id} has no suggestion yet: `/crm suggest {conversation_id}`."
    return f"The newest suggestion for #{conversation_id} is `{suggestion_ref(newest.id)}`."


def _expect_suggestion(ctx: BotContext, raw: str, usage: str) -> int:
    ref = parse(raw)
    hint = ""
    if ref is not None and ref.kind is Kind.CONVERSATION:
        hint = _newest_hint(ctx, ref.number)
    return expect(raw, Kind.SUGGESTION, usage, hint)


def vote_command(ctx: BotContext, actor: Actor, args: list[str]) -> Reply:
    """``/crm vote <suggestion-id> up|down``."""
    if len(args) != 2 or args[1].lower() not in VOTES:
        raise UserError(f"Usage: `/crm {VOTE_USAGE}`")
    suggestion_id = _expect_suggestion(ctx, args[0], VOTE_USAGE)
    return Reply(vote(ctx, actor, suggestion_id, VOTES[args[1].lower()]))


def use_command(ctx: BotContext, actor: Actor, args: list[str]) -> Reply:
    """``/crm use s33`` (a suggestion) or ``/crm use kb12 33`` (an entry on #33)."""
    if not args or len(args) > 2:
        raise UserError(f"Usage: `/crm {USE_USAGE}`")
    ref = parse(args[0])
    if ref is not None and ref.kind is Kind.KB:
        if len(args) != 2:
            raise UserError(
                f"On which conversation? Usage: `/crm use {args[0]} <conversation>`, "
                f"e.g. `/crm use {args[0]} 33`."
            )
        conversation_id = expect(args[1], Kind.CONVERSATION, "use <kb-id> <conversation>")
        return Reply(use_entry(ctx, actor, ref.number, conversation_id))
    suggestion_id = _expect_suggestion(ctx, args[0], USE_USAGE)
    target = (
        expect(args[1], Kind.CONVERSATION, "use <suggestion-id> [conversation]")
        if len(args) == 2
        else None
    )
    return Reply(use(ctx, actor, suggestion_id, target))


def kb_command(ctx: BotContext, args: list[str]) -> Reply:
    """``/crm kb <words>``: the approved replies that best fit the words, with their votes
    (``/crm kb kb12`` shows one entry)."""
    query = " ".join(args).strip()
    if not query:
        raise UserError("What should I look for? Usage: `/crm kb <words>`")
    ref = parse(query)
    if ref is not None and ref.kind is Kind.KB:
        return _kb_entry(ctx, ref.number)
    if ref is not None:  # a bare number or another kind of id: which entry, or what words?
        raise UserError(
            f"`{query}` is a {ref.kind.value} id, not words to look for. "
            f"`/crm kb kb{ref.number}` shows knowledge-base entry kb{ref.number}; "
            "`/crm kb <words>` searches."
        )
    with ctx.db.session() as session:
        found = knowledge.search(session, query, ctx.clock.now(), limit=10)
    if not found:
        return Reply(text=f"Nothing in the knowledge base matches {query!r}.")
    rows = tuple(
        (
            kb_ref(r.entry.id or 0),
            f"{r.score:.2f}",
            f"+{r.entry.votes_up}/-{r.entry.votes_down}",
            r.entry.origin,
            knowledge.render(r.entry.text),
        )
        for r in found
    )
    return Reply(
        text=f"{len(found)} approved replies for {query!r}, best first "
        "(`/crm use <kb-id> <conversation>` sends one):",
        tables=(
            Table(
                title="Knowledge base",
                columns=("id", "score", "votes", "from", "reply"),
                rows=rows,
            ),
        ),
    )


def _kb_entry(ctx: BotContext, entry_id: int) -> Reply:
    with ctx.db.session() as session:
        entry = session.get(KnowledgeEntry, entry_id)
    if entry is None:
        raise UserError(f"There is no knowledge-base entry {kb_ref(entry_id)}.")
    rows = (
        ("reply", knowledge.render(entry.text)),
        ("answered", entry.question or "(not recorded)"),
        ("intent", knowledge.entry_intent(entry).value),
        ("votes", f"+{entry.votes_up}/-{entry.votes_down}"),
        ("from", entry.origin),
    )
    return Reply(
        text=f"Knowledge-base entry {kb_ref(entry_id)}:",
        tables=(Table(title=kb_ref(entry_id), columns=("field", "value"), rows=rows),),
    )


def suggest_command(ctx: BotContext, args: list[str]) -> Reply:
    """``/crm suggest <conversation>``: draft a new suggestion."""
    if not args:
        raise UserError(f"Which conversation? Usage: `/crm {SUGGEST_USAGE}`")
    digits = args[0].lstrip("#")
    if digits.isascii() and digits.isdigit() and not valid_id(int(digits[:30])):
        raise UserError(f"There is no conversation #{digits[:30]}. Try `/crm queue`.")
    conversation_id = expect(args[0], Kind.CONVERSATION, SUGGEST_USAGE)
    if not valid_id(conversation_id):
        raise UserError(f"There is no conversation #{conversation_id}. Try `/crm queue`.")
    with ctx.db.session() as session:
        data = suggestion_input(session, conversation_id)
        ranked = knowledge.search_for(session, data, ctx.clock.now()) if data else []
    if data is None:
        raise UserError(f"There is no conversation #{conversation_id}. Try `/crm queue`.")
    if ctx.request_suggestion is not None and ctx.request_suggestion(conversation_id):
        return Reply(f"Drafting a new suggestion for #{conversation_id}; it follows the alert.")
    limit = ctx.config.suggestions.limit_for(data.platform)
    suggestion_id = SuggestionService(ctx).store(data, offline_draft(data, ranked, limit))
    shown = suggestion_ref(suggestion_id) if suggestion_id is not None else "(none)"
    return Reply(f"New suggestion {shown} for #{conversation_id} (offline).")
