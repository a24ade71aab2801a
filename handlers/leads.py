"""**Create lead** and ``/crm lead <id>``: the author of a social conversation becomes a
CRM contact, with a note holding what they wrote and where.

The CRM (:class:`~handlers.crm_port.Crm`: HubSpot, or a ``lead.create`` outbound webhook)
reuses a contact with the same email or handle, never duplicating it. Locally the contact
is stored and linked to the author and the conversation, a ``lead_created`` handling event
records who made the lead, ``crm_lead`` keeps it for the outcome metrics, the alert shows
the contact and its thread gets a line with it. One lead per conversation: asking again
says which contact it already is. With ``[crm] lead_approval`` a lead is asked for
(``lead_requested``) and made once someone with ``approver_role``, not the asker, approves
it (``/crm lead approve <id>``; ``reject`` turns it down); it stays credited to the asker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from handlers import actions
from handlers.cards import NoticeCard, StatusCard
from handlers.contacts import contact_line
from handlers.context import BotContext
from handlers.crm_port import Crm, CrmError, LeadRequest, LeadResult
from handlers.errors import UserError
from handlers.events import Actor
from handlers.roles import require
from storage import contacts as contact_store
from storage import conversations, handling
from storage import crm as crm_store
from storage.models import Author, Contact, Conversation, HandlingEvent, Mention, Staff
from storage.sentiment import restate_alerts

T = TypeVar("T")

NO_CRM = (
    "No CRM is configured, so I can't create a lead. Either set HUBSPOT_ACCESS_TOKEN (a "
    "HubSpot private app token; see docs/crm.md), or add an outbound webhook whose events "
    'include "lead.create" under [sources.webhooks.outbound.NAME] in the config.'
)


def profile_url(platform: str, handle: str) -> str | None:
    """The author's public profile, from the platform and handle."""
    bare = handle.strip().lstrip("@")
    if platform == "mastodon" and "@" in bare:
        user, instance = bare.split("@", 1)
        return f"https://{instance}/@{user}"
    return {
        "bluesky": f"https://bsky.app/profile/{bare}",
        "reddit": f"https://www.reddit.com/user/{bare}",
        "twitter": f"https://x.com/{bare}",
        "x": f"https://x.com/{bare}",
    }.get(platform)


def create_lead(ctx: BotContext, actor: Actor, conversation_id: int) -> str:
    """Make the conversation's author a lead in the CRM (or, with ``[crm] lead_approval``,
    ask for it); returns what to tell the actor."""
    with ctx.db.session() as session:
        staff = actions.identify(session, ctx, actor)
        conversation = _conversation(session, conversation_id)
        done = crm_store.lead_of(session.connection(), conversation_id)
        if done is not None:
            return _already(session, conversation_id, done)
        crm = _crm(ctx)
        if ctx.config.crm.lead_approval:
            return _ask_approval(ctx, session, conversation, staff, crm)
        request = _request(session, conversation, staff)
    return _make(ctx, crm, staff, None, conversation_id, request)


def approve_lead(ctx: BotContext, actor: Actor, conversation_id: int) -> str:
    """Approve the lead someone else asked for on the conversation, and make it."""
    with ctx.db.session() as session:
        approver, conversation, requester = _decide(ctx, session, actor, conversation_id)
        done = crm_store.lead_of(session.connection(), conversation_id)
        if done is not None:
            return _already(session, conversation_id, done)
        request = _request(session, conversation, requester)
    return _make(ctx, _crm(ctx), requester, approver, conversation_id, request)


def reject_lead(ctx: BotContext, actor: Actor, conversation_id: int) -> str:
    """Turn down the lead asked for on the conversation (said in its thread)."""
    with ctx.db.session() as session:
        approver, conversation, requester = _decide(ctx, session, actor, conversation_id)
        handling.record(session, conversation, "lead_rejected", approver.id, ctx.clock.now())
        text = f"@{approver.name} turned down the lead @{requester.name} asked for."
        ctx.queue(
            session,
            NoticeCard(conversation_id=conversation_id, text=text),
            list(conversation.channels),
        )
    ctx.on_queued()
    return (
        f"Turned down the lead on #{conversation_id}; @{requester.name} will see it in the thread."
    )


def _crm(ctx: BotContext) -> Crm:
    if ctx.crm is None:
        raise UserError(NO_CRM)
    return ctx.crm


def _make(
    ctx: BotContext,
    crm: Crm,
    staff: Staff,
    approver: Staff | None,
    conversation_id: int,
    request: LeadRequest,
) -> str:
    try:
        result = run_async(crm.upsert_lead(request))
    except CrmError as exc:
        later = " Try again in a minute." if not exc.permanent else ""
        raise UserError(f"Could not create the lead in {crm.label}: {exc.reason}{later}") from None
    return _record(ctx, crm, (staff, approver), conversation_id, request, result)


def _pending(session: Session, conversation_id: int) -> HandlingEvent | None:
    """The lead request still waiting on the conversation (not yet approved or rejected)."""
    events = session.exec(
        select(HandlingEvent)
        .where(
            HandlingEvent.conversation_id == conversation_id,
            col(HandlingEvent.kind).in_(("lead_requested", "lead_rejected", "lead_created")),
        )
        .order_by(col(HandlingEvent.id))
    ).all()
    last = events[-1] if events else None
    return last if last is not None and last.kind == "lead_requested" else None


def _ask_approval(
    ctx: BotContext, session: Session, conversation: Conversation, staff: Staff, crm: Crm
) -> str:
    assert conversation.id is not None
    conv_id, role = conversation.id, ctx.config.crm.approver_role
    pending = _pending(session, conv_id)
    if pending is not None:
        asker = session.get(Staff, pending.actor_id) if pending.actor_id else None
        who = f"@{asker.name}" if asker is not None else "someone"
        return f"A lead on #{conv_id} is already waiting for approval (asked by {who})."
    handling.record(session, conversation, "lead_requested", staff.id, ctx.clock.now())
    text = (
        f"@{staff.name} asks to make this author a lead in {crm.label}: a {role} approves "
        f"with `/crm lead approve {conv_id}` or turns it down with `/crm lead reject {conv_id}`."
    )
    ctx.queue(session, NoticeCard(conversation_id=conv_id, text=text), list(conversation.channels))
    session.commit()
    ctx.on_queued()
    return f"Asked for approval: a {role} other than you approves the lead on #{conv_id}."


def _decide(
    ctx: BotContext, session: Session, actor: Actor, conversation_id: int
) -> tuple[Staff, Conversation, Staff]:
    """The approver (checked), the conversation and who asked for its lead."""
    approver = actions.identify(session, ctx, actor)
    role = ctx.config.crm.approver_role
    require(ctx.config, approver, actor, role, "approve or turn down leads")
    conversation = _conversation(session, conversation_id)
    pending = _pending(session, conversation_id)
    requester = session.get(Staff, pending.actor_id) if pending and pending.actor_id else None
    if pending is None or requester is None:
        raise UserError(
            f"No lead is waiting for approval on #{conversation_id}. "
            f"`/crm lead {conversation_id}` asks for one."
        )
    if requester.id == approver.id:
        raise UserError(f"You asked for this lead: another {role} approves it.")
    return approver, conversation, requester


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """Run a CRM coroutine to its end from synchronous handler code (commands and button
    actions run in worker threads; a fresh loop on a helper thread works from anywhere)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm") as pool:
        return pool.submit(asyncio.run, work).result()


def _conversation(session: Session, conversation_id: int) -> Conversation:
    if not conversations.valid_id(conversation_id):
        raise actions.no_conversation(conversation_id)
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise actions.no_conversation(conversation_id)
    if conversation.kind != "mention" or conversation.author_id is None:
        raise UserError(
            f"#{conversation_id} is a CRM event, not a social conversation: "
            "its contact is already in the CRM."
        )
    return conversation


def _request(session: Session, conversation: Conversation, staff: Staff) -> LeadRequest:
    assert conversation.id is not None
    author = session.get(Author, conversation.author_id)
    assert author is not None
    first = session.exec(
        select(Mention)
        .where(Mention.conversation_id == conversation.id, Mention.author_id == author.id)
        .order_by(col(Mention.id))
    ).first()
    contact = session.get(Contact, author.contact_id) if author.contact_id else None
    return LeadRequest(
        conversation_id=conversation.id,
        handle=author.handle,
        platform=author.platform,
        profile_url=profile_url(author.platform, author.handle),
        display_name=author.display_name,
        email=contact.email if contact is not None else None,
        mention_text=first.text if first is not None else conversation.title,
        conversation_link=first.url if first is not None else None,
        staff=staff.name,
    )


def _record(
    ctx: BotContext,
    crm: Crm,
    people: tuple[Staff, Staff | None],
    conversation_id: int,
    request: LeadRequest,
    result: LeadResult,
) -> str:
    staff, approver = people
    now = ctx.clock.now()
    with ctx.db.session() as session:
        conversation = conversations.lock(session, conversation_id)
        assert conversation is not None and conversation.id is not None
        conn = session.connection()
        done = crm_store.lead_of(conn, conversation_id)
        if done is not None:  # made by someone else meanwhile
            return _already(session, conversation_id, done)
        values = {
            "name": result.name or request.display_name,
            "email": result.email or request.email,
            "company": result.company,
            "url": result.url,
        }
        contact_id = contact_store.upsert_contact(
            conn, crm.name, result.contact_id, values, [request.handle], now
        )
        author = session.get(Author, conversation.author_id)
        if author is not None:
            author.contact_id = contact_id
            session.add(author)
        conversation.contact_id = contact_id
        detail: dict[str, Any] = {
            "crm": crm.name,
            "contact": result.contact_id,
            "created": result.created,
        }
        if approver is not None:
            detail["approver"] = approver.name
        handling.record(session, conversation, "lead_created", staff.id, now, detail)
        crm_store.add_lead(
            conn,
            {
                "conversation_id": conversation_id,
                "contact_id": contact_id,
                "crm": crm.name,
                "source": conversation.source,
                "staff_id": staff.id,
                "created": result.created,
                "url": result.url,
                "at": now,
            },
        )
        line = contact_line(contact_store.contacts_by_id(conn, {contact_id}).get(contact_id))
        restate_alerts(conn, {conversation_id: {"contact": line}})
        verb = "created" if result.created else "existing contact linked"
        if approver is not None:
            verb += f", approved by @{approver.name}"
        where = f" {result.url}" if result.url else ""
        text = f"Lead in {crm.label} ({verb} by @{staff.name}): {line}{where}"
        channels = list(conversation.channels)
        ctx.queue(session, NoticeCard(conversation_id=conversation_id, text=text), channels)
        assignee = (
            session.get(Staff, conversation.assignee_id) if conversation.assignee_id else None
        )
        status = StatusCard(
            conversation_id=conversation_id,
            status=conversation.status,
            line=f"lead in {crm.label}: {line}",
            assignee=assignee.name if assignee is not None else None,
        )
        ctx.queue(session, status, channels)
    ctx.on_queued()
    if result.created:
        return f"Created a lead in {crm.label} for #{conversation_id}: {line}{where}"
    return (
        f"#{conversation_id}'s author is an existing {crm.label} contact, now linked: {line}{where}"
    )


def _already(session: Session, conversation_id: int, lead: dict[str, Any]) -> str:
    contact = session.get(Contact, lead["contact_id"])
    shown = contact_line(contact.model_dump() if contact is not None else None) or "a contact"
    where = f" {lead['url']}" if lead.get("url") else ""
    return f"#{conversation_id} is already a lead: {shown}{where}"
