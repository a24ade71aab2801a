"""What a draft needs, read from the database: the conversation so far, the author, what
the CRM knows about them, and what the newest message is (its intent)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from handlers.sentiment import label
from handlers.suggest.intent import classify
from handlers.suggest.prompt import SuggestionInput
from storage import conversations
from storage.models import Author, Contact, Conversation, CrmEvent, HandlingEvent, Mention, Staff

HISTORY = 8  # earlier messages shown to the model


def _crm_context(contact: Contact | None) -> str | None:
    if contact is None:
        return None
    parts = [
        contact.name,
        contact.company and f"company {contact.company}",
        contact.lifecycle_stage and f"lifecycle {contact.lifecycle_stage}",
        contact.deal_name and f"deal {contact.deal_name}",
        contact.deal_stage and f"stage {contact.deal_stage}",
        contact.deal_amount is not None and f"amount {contact.deal_amount:,.0f}",
    ]
    return ", ".join(p for p in parts if isinstance(p, str) and p) or None


def latest_message(session: Session, conversation_id: int) -> str:
    """The newest customer message of a conversation (mention text or CRM summary)."""
    mention = session.exec(
        select(Mention.text)
        .where(Mention.conversation_id == conversation_id)
        .order_by(col(Mention.posted_at).desc(), col(Mention.id).desc())
    ).first()
    if mention is not None:
        return mention
    summary = session.exec(
        select(CrmEvent.summary)
        .where(CrmEvent.conversation_id == conversation_id)
        .order_by(col(CrmEvent.occurred_at).desc())
    ).first()
    return summary or ""


def _newest_source(session: Session, conv: Conversation) -> tuple[str, str | None, float]:
    """(source kind, CRM event kind, sentiment) of the conversation's newest message."""
    mention = session.exec(
        select(Mention)
        .where(Mention.conversation_id == conv.id)
        .order_by(col(Mention.posted_at).desc(), col(Mention.id).desc())
    ).first()
    event = session.exec(
        select(CrmEvent)
        .where(CrmEvent.conversation_id == conv.id)
        .order_by(col(CrmEvent.occurred_at).desc(), col(CrmEvent.id).desc())
    ).first()
    if event is not None and (mention is None or event.occurred_at >= mention.posted_at):
        return "crm", event.kind, conv.sentiment
    if mention is not None:
        return "mention", None, mention.sentiment
    return conv.kind, None, conv.sentiment


def _history(session: Session, conv: Conversation, author: Author | None) -> list[tuple[str, str]]:
    """Customer messages and staff replies, oldest first (the newest customer message last)."""
    assert conv.id is not None
    items: list[tuple[object, str, str]] = []
    who = f"@{author.handle}" if author is not None else "customer"
    for m in session.exec(select(Mention).where(Mention.conversation_id == conv.id)):
        items.append((m.posted_at, who, m.text))
    for e in session.exec(select(CrmEvent).where(CrmEvent.conversation_id == conv.id)):
        items.append((e.occurred_at, "CRM", e.summary or e.kind))
    staff_names = {s.id: s.name for s in session.exec(select(Staff))}
    for h in session.exec(
        select(HandlingEvent).where(
            HandlingEvent.conversation_id == conv.id, HandlingEvent.kind == "replied"
        )
    ):
        text = h.detail.get("text")
        if isinstance(text, str) and text:
            items.append((h.at, f"team ({staff_names.get(h.actor_id, 'staff')})", text))
    items.sort(key=lambda item: str(item[0]))
    return [(who_, text) for _, who_, text in items]


def suggestion_input(session: Session, conversation_id: int) -> SuggestionInput | None:
    """The draft's input, or None when the conversation does not exist."""
    conv = conversations.get(session, conversation_id)
    if conv is None:
        return None
    author = session.get(Author, conv.author_id) if conv.author_id else None
    contact_id = conv.contact_id or (author.contact_id if author else None)
    contact = session.get(Contact, contact_id) if contact_id else None
    history = _history(session, conv, author)
    customer = [i for i, (who, _) in enumerate(history) if not who.startswith("team")]
    newest = customer[-1] if customer else None
    mention = history[newest][1] if newest is not None else conv.title
    earlier = [h for i, h in enumerate(history) if i != newest][-HISTORY:]
    source_kind, crm_kind, sentiment = _newest_source(session, conv)
    intent = classify(mention, source_kind=source_kind, crm_kind=crm_kind, sentiment=sentiment)
    return SuggestionInput(
        conversation_id=conversation_id,
        cycle=conv.cycle,
        platform=conv.platform,
        kind=conv.kind,
        severity=conv.severity,
        sentiment=conv.sentiment,
        sentiment_label=label(conv.sentiment),
        mention=mention,
        history=tuple(earlier),
        author_handle=author.handle if author else None,
        author_name=(author.display_name if author else None)
        or (contact.name if contact else None),
        followers=author.followers if author else 0,
        crm_context=_crm_context(contact),
        intent=intent.value,
        crm_kind=crm_kind,
    )
