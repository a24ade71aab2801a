"""Escalation: an alert nobody claimed within a route's ``escalate.after`` is re-posted to
``escalate.to``, mentioning the people or groups named there; rules with
``unclaimed_for`` do the same through the routes. A claim cancels both."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from handlers.cards import AlertCard, NoticeCard, Ping
from handlers.config import CrmbotConfig, EscalationConfig
from handlers.context import BotContext
from handlers.delivery import AlertTiming
from handlers.digest_group import DigestGroup
from handlers.durations import format_duration
from handlers.routing import cached_route, route
from handlers.rules import Subject, rule_labels
from storage import conversations, handling
from storage import outbox as outbox_store
from storage.models import Conversation


def escalation_routes(
    config: CrmbotConfig, labels: dict[str, str]
) -> list[tuple[int, EscalationConfig]]:
    """(route index, escalation) for each route with an escalation that takes ``labels``."""
    return [
        (hit.index, hit.route.escalate)
        for hit in route(config, labels).hits
        if hit.route is not None and hit.route.escalate is not None
    ]


def _unclaimed(conversation: Conversation | None, cycle: int | None = None) -> bool:
    return (
        conversation is not None
        and (cycle is None or conversation.cycle == cycle)
        and conversation.status == "open"
        and conversation.assignee_id is None
    )


def _repost(
    ctx: BotContext,
    session: Session,
    conversation: Conversation,
    channels: list[str],
    note: str,
    detail: dict[str, Any],
    pings: tuple[dict[str, Any], ...] = (),
) -> bool:
    """Post the conversation's alert again to ``channels`` with ``note``; record it."""
    assert conversation.id is not None
    payload = outbox_store.first_alert_payload(session, conversation.id)
    if payload is None or not channels:
        return False
    handling.record(session, conversation, "escalated", None, ctx.clock.now(), detail)
    new = [c for c in channels if c not in conversation.channels]
    if new:
        conversation.channels = [*conversation.channels, *new]
    for channel in channels:
        card = AlertCard.from_payload(
            {**payload, "channel": channel, "escalation": note, "pings": pings}
        )
        ctx.queue(session, card, [channel])
    return True


def pings_for(config: CrmbotConfig, names: list[str]) -> list[Ping]:
    """The people (``[[staff]]``) and groups (``[groups]``) named in ``escalate.mention``,
    with their ids on each platform, so adapters can really notify them."""
    staff = {member.name: member for member in config.staff}
    pings: list[Ping] = []
    for raw in names:
        name = raw.removeprefix("@")
        member = staff.get(name)
        group = config.groups.get(name)
        if member is not None:
            ids = {"slack": member.slack, "discord": member.discord, "console": member.console}
            pings.append(Ping(name, "user", {k: v for k, v in ids.items() if v}))
        elif group is not None:
            ids = {"slack": group.slack, "discord": group.discord}
            pings.append(Ping(name, "group", {k: v for k, v in ids.items() if v}))
        else:
            pings.append(Ping(name))  # check-config names it; shown as plain @name
    return pings


def escalate(ctx: BotContext, conversation_id: int, cycle: int, route_index: int) -> bool:
    """Re-post the alert if it is still unclaimed in the same cycle and this route has not
    escalated it in this cycle yet; True when it did. Safe to run again: a repeat (or a
    concurrent run) of one timer posts nothing more."""
    config = ctx.config
    if route_index >= len(config.routes):
        return False  # the config changed and the route is gone
    rule = config.routes[route_index].escalate
    if rule is None:
        return False
    with ctx.db.session() as session:
        # locked, and its escalations read, in the transaction that records this one: a
        # second run of the same timer (a replica that took over a run cut short, or an
        # old leader still finishing) waits, then finds it done
        conversation = conversations.lock(session, conversation_id)
        if conversation is None or not _unclaimed(conversation, cycle):
            return False
        if handling.has_event_with(
            session, conversation_id, cycle, "escalated", "route", route_index
        ):
            return False
        note = f"Unclaimed for {format_duration(rule.after.total_seconds())}"
        pings = tuple(p.to_payload() for p in pings_for(config, rule.mention))
        detail = {
            "to": rule.to,
            "after_s": rule.after.total_seconds(),
            "mention": rule.mention,
            "route": route_index,
        }
        earlier = [c for c in conversation.channels if c != rule.to]
        done = _repost(ctx, session, conversation, [rule.to], note, detail, pings)
        if done and earlier:
            # and a note in the alert's own thread, so whoever looks there sees where it went
            notice = NoticeCard(
                conversation_id=conversation.id, text=f"{note}: escalated to #{rule.to}."
            )
            ctx.queue(session, notice, earlier)
    if done:
        ctx.on_queued()
    return done


def check_unclaimed(ctx: BotContext) -> list[int]:
    """Fire ``unclaimed_for`` rules on open, unclaimed conversations, once per cycle each."""
    config = ctx.config
    ruleset = ctx.ruleset()
    now = ctx.clock.now()
    fired: list[int] = []
    for rule in ruleset.unclaimed_rules():
        assert rule.unclaimed_for is not None
        with ctx.db.session() as session:
            for conversation in conversations.unclaimed_since(session, now - rule.unclaimed_for):
                assert conversation.id is not None
                if handling.has_event(
                    session, conversation.id, conversation.cycle, "escalated", rule.name
                ):
                    continue
                subject = Subject(
                    kind=conversation.kind,
                    text=conversation.title,
                    platform=conversation.platform,
                    source=conversation.source,
                    sentiment=conversation.sentiment,
                )
                if not ruleset.conversation_matches(rule, subject):
                    continue
                labels = {**conversation.labels, **rule_labels(rule, subject)}
                channels = list(route(config, labels).channels)
                note = f"Unclaimed for {format_duration(rule.unclaimed_for.total_seconds())} (rule {rule.name})"
                if _repost(
                    ctx, session, conversation, channels, note, {"rule": rule.name, "to": channels}
                ):
                    fired.append(conversation.id)
    if fired:
        ctx.on_queued()
    return fired


def check_repeats(ctx: BotContext) -> list[int]:
    """Routes with ``repeat_interval``: alerts still unclaimed that long after their last
    post are posted again (together, as one digest when there are several)."""
    config = ctx.config
    ruleset = ctx.ruleset()
    now = ctx.clock.now()
    repeated: list[int] = []
    for index, candidate in enumerate(config.routes):
        interval = candidate.repeat_interval
        if interval is None:
            continue
        cutoff = now - interval
        label = candidate.label(index)
        with ctx.db.session() as session:
            for conversation in conversations.unclaimed_since(session, cutoff):
                assert conversation.id is not None
                hits = cached_route(ruleset, dict(conversation.labels)).hits
                if index not in (hit.index for hit in hits):
                    continue
                last = outbox_store.last_alert_at(session, conversation.id, candidate.channel)
                if last is None or last > cutoff:
                    continue
                payload = outbox_store.first_alert_payload(session, conversation.id)
                if payload is None:
                    continue
                age = format_duration((now - conversation.created_at).total_seconds())
                card = AlertCard.from_payload(
                    {
                        **payload,
                        "channel": candidate.channel,
                        "escalation": f"Still unclaimed ({age})",
                    }
                )
                ctx.queue(
                    session, card, [candidate.channel], AlertTiming(now, DigestGroup.repeat(label))
                )
                repeated.append(conversation.id)
    if repeated:
        ctx.on_queued()
    return repeated
