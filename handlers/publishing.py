"""Replies that reach the customer: the rules, for every chat platform (docs/replies.md).

A staff reply answers the conversation's newest customer post, on the platform it came
from, through the publisher of its source kind (``[sources.mastodon.NAME]`` -> mastodon;
a webhook source -> webhook). The conversation's reply mode (handlers/reply_modes.py)
decides: ``off`` refuses and says how to turn it on; ``direct`` queues the reply for the
publish worker (bot/publishing.py); ``approve`` keeps it as a draft (``r12``) and posts a
:class:`ReplyCard` into the alert's thread for an approver. Text over the platform's limit
is refused before anything is drafted or approved, with the limit named. Everything here
is one transaction per request, recorded once per delivery (handlers/once.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session

from handlers import actions, once
from handlers.cards import ReplyCard
from handlers.cleantext import clean
from handlers.config import CrmbotConfig
from handlers.config_sources import POLLER_KINDS
from handlers.context import BotContext
from handlers.errors import UserError
from handlers.events import Actor
from handlers.ids import Kind, parse, reply_ref, suggestion_ref
from handlers.platform_names import platform_name
from handlers.publish_port import OutboundReply, Publisher, ReplyTarget
from handlers.replies import Reply, Table
from handlers.reply_modes import (
    approvers,
    approvers_in_words,
    conversation_mode,
    may_approve,
    where_to_turn_on,
)
from storage import mentions as mentions_store
from storage import replies as store
from storage.models import Author, Conversation, Mention, Staff
from storage.suggestions import Suggestion

MAX_TEXT = 10_000  # longer than any platform allows; stops a pasted novel at the door


def source_of(config: CrmbotConfig, mention_source: str) -> tuple[str, str]:
    """``(source, source kind)`` of a mention's source. Pollers stamp their platform as the
    source (``mastodon``): its kind when such a poller is configured (the publisher picks
    which of its accounts answers, bot/publish/targets.py). Anything else came in
    through a webhook."""
    polled = {kind for kind, _ in config.sources.pollers()}
    if mention_source in POLLER_KINDS and mention_source in polled:
        return mention_source, mention_source
    return mention_source, "webhook"


@dataclass(frozen=True, slots=True)
class Target:
    """The post a reply answers and who publishes it."""

    mention: Mention
    source: str
    source_kind: str
    publisher: Publisher


def _no_publisher(kind: str, source: str) -> UserError:
    if kind == "webhook":
        where = (
            f'an outbound webhook for it ([sources.webhooks.outbound.NAME] sources = ["{source}"])'
        )
    else:
        where = f"a {platform_name(kind)} account to reply from ([sources.{kind}.NAME])"
    return UserError(
        f"Replies to {source} can't be published: no publisher is configured. "
        f"An admin sets up {where}; see docs/replies.md."
    )


def _webhook_for(config: CrmbotConfig, source: str) -> bool:
    """Whether an outbound webhook carries replies to ``source``'s mentions."""
    return any(
        source in hook.sources and "reply.create" in hook.events
        for hook in config.sources.webhooks.outbound.values()
    )


def target_of(ctx: BotContext, session: Session, conversation: Conversation) -> Target:
    """What a reply on ``conversation`` answers, or a UserError saying why it can't."""
    assert conversation.id is not None
    mention = mentions_store.newest_mention(session, conversation.id)
    if mention is None:
        raise UserError(
            f"#{conversation.id} is a CRM event, not a social post: there is nobody to answer "
            "publicly. Answer in the CRM and `/crm reply` to record it."
        )
    if mention.source == "rss":
        raise UserError(
            f"#{conversation.id} came from a feed; crmbot can't answer there. Answer on the site "
            f"and `/crm reply {conversation.id}` to record it."
        )
    source, kind = source_of(ctx.config, mention.source)
    publisher = ctx.publishers.get(kind)
    if publisher is None or (kind == "webhook" and not _webhook_for(ctx.config, source)):
        raise _no_publisher(kind, source)
    return Target(mention, source, kind, publisher)


def check_length(publisher: Publisher, platform: str, text: str) -> None:
    """Refuse text the platform would refuse, naming its limit."""
    limit = publisher.limit(platform)
    excess = limit.excess(text)
    if excess:
        raise UserError(
            f"{platform_name(platform)} allows {limit.max_length} characters; this reply is "
            f"{limit.length(text)} — cut {excess}."
        )


def _text(raw: str) -> str:
    text = clean(raw).strip()
    if not text:
        raise UserError("The reply is empty: write what the customer should read.")
    if len(text) > MAX_TEXT:
        raise UserError(f"That reply is {len(text)} characters; no platform takes that many.")
    return text


def _mode_off(conversation: Conversation) -> UserError:
    return UserError(
        f"Replies from chat are off for #{conversation.id}, so nothing was sent. Answer on the "
        f"platform and `/crm reply {conversation.id}` to record it, or ask an admin to set "
        f"{where_to_turn_on(list(conversation.channels))} (see docs/replies.md)."
    )


def card_of(session: Session, row: store.SocialReply, config: CrmbotConfig) -> ReplyCard:
    """The thread card showing ``row`` as it is now."""
    assert row.id is not None
    author = session.get(Staff, row.author_id)
    approver = session.get(Staff, row.approver_id) if row.approver_id else None
    conversation = session.get(Conversation, row.conversation_id)
    channels = list(conversation.channels) if conversation is not None else []
    return ReplyCard(
        conversation_id=row.conversation_id,
        reply_id=row.id,
        state=row.state,
        text=row.text,
        author=author.name if author else "",
        approver=approver.name if approver else None,
        approvers=approvers_in_words(approvers(config, channels)),
        platform=row.platform,
        url=row.url,
        error=row.last_error if row.state == "failed" else None,
    )


def _post_card(ctx: BotContext, session: Session, row: store.SocialReply) -> None:
    conversation = session.get(Conversation, row.conversation_id)
    if conversation is not None:
        ctx.queue(session, card_of(session, row, ctx.config), list(conversation.channels))


def mode_of(config: CrmbotConfig, conversation: Conversation) -> str:
    """The conversation's reply mode (``off``, ``direct``, ``approve``)."""
    return conversation_mode(config, list(conversation.channels), dict(conversation.labels))


def send(
    ctx: BotContext,
    actor: Actor,
    conversation_id: int,
    text: str,
    suggestion_id: int | None = None,
) -> str:
    """Answer the customer of ``conversation_id``: queue it, or draft it for approval."""
    text = _text(text)
    with actions.acting(ctx, actor, conversation_id) as (session, staff, conversation):
        actions.require_open(conversation)
        mode = mode_of(ctx.config, conversation)
        if mode == "off":
            raise _mode_off(conversation)
        target = target_of(ctx, session, conversation)
        check_length(target.publisher, target.mention.platform, text)
        if suggestion_id is not None:
            _use_suggestion(ctx, session, suggestion_id, conversation_id, staff)
        now = ctx.clock.now()
        assert staff.id is not None and target.mention.id is not None
        row = store.SocialReply(
            conversation_id=conversation_id,
            cycle=conversation.cycle,
            mention_id=target.mention.id,
            source=target.source,
            source_kind=target.source_kind,
            platform=target.mention.platform,
            text=text,
            state="queued" if mode == "direct" else "awaiting",
            author_id=staff.id,
            key=f"crmbot-{uuid.uuid4().hex}",
            next_attempt_at=now,
            suggestion_id=suggestion_id,
            created_at=now,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        rid, where = reply_ref(row.id), platform_name(row.platform)
        if mode == "approve":
            _post_card(ctx, session, row)
            who = approvers_in_words(approvers(ctx.config, list(conversation.channels)))
            return f"Drafted {rid} for #{conversation_id}; {who} must approve it before it goes to {where}."
    ctx.on_reply_queued()
    return f"Sending {rid} to {where}; its link will appear in the thread of #{conversation_id}."


def _use_suggestion(
    ctx: BotContext, session: Session, suggestion_id: int, conversation_id: int, staff: Staff
) -> None:
    suggestion = session.get(Suggestion, suggestion_id)
    if suggestion is None or suggestion.conversation_id != conversation_id:
        raise UserError(
            f"Suggestion {suggestion_ref(suggestion_id)} is not one for #{conversation_id}."
        )
    suggestion.used_by, suggestion.used_at = staff.id, ctx.clock.now()
    session.add(suggestion)


def _reviewable(session: Session, reply_id: int) -> store.SocialReply:
    row = store.lock(session, reply_id)
    if row is None:
        raise UserError(f"There is no reply {reply_ref(reply_id)}. `/crm drafts` lists the drafts.")
    if row.state != "awaiting":
        raise UserError(
            f"{reply_ref(reply_id)} is {_state_words(row.state)}; only drafts are reviewed."
        )
    return row


def _state_words(state: str) -> str:
    return {
        "queued": "approved and being published",
        "published": "already published",
        "rejected": "rejected",
        "failed": "failed",
    }.get(state, state)


def review(ctx: BotContext, actor: Actor, reply_id: int, verb: str, text: str | None = None) -> str:
    """Approve (with ``text`` as edited, when given) or reject draft ``reply_id``."""
    edited = _text(text) if text is not None and text.strip() else None
    rid = reply_ref(reply_id)
    with ctx.db.session() as session:
        staff = actions.identify(session, ctx, actor)
        now = ctx.clock.now()
        once.record(session, now)  # a redelivered press gets the first answer again
        row = _reviewable(session, reply_id)
        conversation = session.get(Conversation, row.conversation_id)
        assert conversation is not None
        names = approvers(ctx.config, list(conversation.channels))
        if row.author_id == staff.id and verb == "approve":
            raise UserError("You wrote this draft; someone else must approve it.")
        own_withdrawal = row.author_id == staff.id and verb == "reject"
        if not own_withdrawal and not may_approve(ctx.config, names, staff, actor):
            raise UserError(f"Only {approvers_in_words(names)} may review {rid}.")
        if verb == "approve":
            if mode_of(ctx.config, conversation) == "off":  # turned off since it was drafted
                raise _mode_off(conversation)
            if edited is not None and edited != row.text:
                check_length(_publisher_for(ctx, row), row.platform, edited)
                row.text = edited
            row.state, row.next_attempt_at = "queued", now
        else:
            row.state = "rejected"
        row.approver_id, row.reviewed_at = staff.id, now
        session.add(row)
        _post_card(ctx, session, row)
        where = platform_name(row.platform)
    ctx.on_queued()
    if verb == "approve":
        ctx.on_reply_queued()
        return f"Approved {rid}; sending it to {where}."
    return f"Rejected {rid}; nothing was sent."


def _publisher_for(ctx: BotContext, row: store.SocialReply) -> Publisher:
    publisher = ctx.publishers.get(row.source_kind)
    if publisher is None:
        raise _no_publisher(row.source_kind, row.source)
    return publisher


def text_of(ctx: BotContext, actor: Actor, raw: str) -> str:
    """The text of suggestion ``s33`` or reply ``r12`` (to pre-fill an edit box)."""
    ref = parse(raw)
    with ctx.db.session() as session:
        actions.identify(session, ctx, actor)
        if ref is not None and ref.kind is Kind.SUGGESTION:
            suggestion = session.get(Suggestion, ref.number)
            if suggestion is not None:
                return suggestion.text
        elif ref is not None and ref.kind is Kind.REPLY:
            row = store.get(session, ref.number)
            if row is not None:
                return row.text
    raise UserError(f"There is no suggestion or reply {raw[:20]!r}.")


def drafts(ctx: BotContext, actor: Actor) -> Reply:
    """Drafts waiting for approval that ``actor`` may approve (not their own)."""
    with ctx.db.session() as session:
        staff = actions.identify(session, ctx, actor)
        rows: list[tuple[str, ...]] = []
        for row in store.awaiting(session):
            conversation = session.get(Conversation, row.conversation_id)
            if conversation is None or row.author_id == staff.id:
                continue
            if not may_approve(
                ctx.config, approvers(ctx.config, list(conversation.channels)), staff, actor
            ):
                continue
            author = session.get(Staff, row.author_id)
            assert row.id is not None
            preview = row.text if len(row.text) <= 80 else row.text[:79] + "…"
            rows.append(
                (
                    reply_ref(row.id),
                    f"#{row.conversation_id}",
                    platform_name(row.platform),
                    f"@{author.name if author else '?'}",
                    preview,
                )
            )
    if not rows:
        return Reply("No drafts are waiting for you.", ephemeral=True)
    table = Table(
        "Drafts to approve", ("reply", "conversation", "where", "by", "text"), tuple(rows)
    )
    return Reply(
        f"{len(rows)} draft(s): `/crm approve r<n> [edited text]` or `/crm reject r<n>`.",
        tables=(table,),
        ephemeral=True,
    )


def outbound(session: Session, row: store.SocialReply) -> OutboundReply:
    """What the publish worker hands the publisher for ``row``."""
    assert row.id is not None
    mention = session.get(Mention, row.mention_id)
    assert mention is not None
    author = session.get(Author, mention.author_id) if mention.author_id else None
    writer = session.get(Staff, row.author_id)
    approver = session.get(Staff, row.approver_id) if row.approver_id else None
    return OutboundReply(
        key=row.key,
        reply_id=row.id,
        conversation_id=row.conversation_id,
        target=ReplyTarget(
            source=row.source,
            source_kind=row.source_kind,
            platform=row.platform,
            external_id=mention.external_id,
            author_handle=author.handle if author else "",
            url=mention.url,
            reply_ref=dict(mention.reply_ref or {}),
        ),
        text=row.text,
        author=writer.name if writer else "",
        approver=approver.name if approver else None,
    )
