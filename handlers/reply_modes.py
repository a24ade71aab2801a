"""Which reply mode and which approvers hold for a conversation (docs/replies.md).

A route's ``reply_mode`` wins for the alerts it routed. Otherwise each of the
conversation's channels has its own mode (``[channels.X] reply_mode``, else
``[replies] mode``), and the strictest of them holds (``off`` over ``approve`` over
``direct``), so a reply is never published from a channel whose admin did not turn it on.
Approvers are those of every channel the conversation is in (a channel without
``approvers`` takes ``[replies] approvers``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from handlers.config import CrmbotConfig
from handlers.config_replies import ReplyMode
from handlers.events import Actor
from handlers.roles import RANK, effective_role
from handlers.routing import route
from storage.models import Staff

PERMISSIVENESS: dict[str, int] = {"off": 0, "approve": 1, "direct": 2}


def channel_mode(config: CrmbotConfig, channel: str) -> ReplyMode:
    """The reply mode of one channel (its own, else ``[replies] mode``)."""
    settings = config.channels.get(channel)
    if settings is not None and settings.reply_mode is not None:
        return settings.reply_mode
    return config.replies.mode


def conversation_mode(
    config: CrmbotConfig, channels: Sequence[str], labels: dict[str, str]
) -> ReplyMode:
    """The reply mode for a conversation posted to ``channels`` with ``labels``."""
    for hit in route(config, labels).hits:
        if hit.route is not None and hit.route.reply_mode is not None and hit.channel in channels:
            return hit.route.reply_mode
    modes = [channel_mode(config, name) for name in channels] or [config.replies.mode]
    return min(modes, key=PERMISSIVENESS.__getitem__)


def where_to_turn_on(channels: Sequence[str]) -> str:
    """The config key an admin sets to turn replies on for these channels."""
    if len(channels) == 1:
        return f'[channels.{channels[0]}] reply_mode = "direct" or "approve"'
    return 'reply_mode = "direct" or "approve" under [replies] (or each of its channels)'


def approvers(config: CrmbotConfig, channels: Sequence[str]) -> list[str]:
    """Who may approve drafts on a conversation in ``channels`` (role or staff names)."""
    names: list[str] = []
    for channel in channels or [""]:
        settings = config.channels.get(channel)
        chosen = settings.approvers if settings and settings.approvers else None
        for name in chosen or config.replies.approvers:
            bare = name.strip().removeprefix("@")
            if bare not in names:
                names.append(bare)
    return names


def may_approve(config: CrmbotConfig, names: Collection[str], staff: Staff, actor: Actor) -> bool:
    """Whether ``staff`` is one of ``names``: by staff name, or by a role they have (a role
    admits the roles above it)."""
    role = RANK[effective_role(config, staff, actor)]
    return any(
        (name in RANK and role >= RANK[name]) or (name not in RANK and name == staff.name)
        for name in names
    )


def approvers_in_words(names: Sequence[str]) -> str:
    """``a manager or admin``, ``@alice or a manager``."""
    roles = [n for n in names if n in RANK]
    people = [f"@{n}" for n in names if n not in RANK]
    parts = people + ([f"a {' or '.join(roles)}"] if roles else [])
    return " or ".join(parts) if parts else "nobody"


def replies_on(config: CrmbotConfig) -> bool:
    """Whether any channel or route may publish replies."""
    modes = [config.replies.mode, *(c.reply_mode for c in config.channels.values())]
    modes += [r.reply_mode for r in config.routes]
    return any(mode not in (None, "off") for mode in modes)


def reply_warnings(config: CrmbotConfig, publisher_kinds: Collection[str]) -> list[str]:
    """check-config warnings: a channel that publishes replies while a source kind that
    can send it alerts has no publisher (its replies would be refused)."""
    kinds = sorted({kind for kind, _ in config.sources.pollers() if kind != "rss"})
    missing = [kind for kind in kinds if kind not in publisher_kinds]
    warnings = [
        f"sources.mastodon.{name}: no token_env, so replies to its mentions can't be "
        "published (set token_env to a variable holding a token with write:statuses)"
        for name, table in config.sources.mastodon.items()
        if table.token_env is None and replies_on(config)
    ]
    for name in config.channels:
        mode = channel_mode(config, name)
        routed = [r.reply_mode for r in config.routes if r.channel == name and r.reply_mode]
        if mode == "off" and all(m == "off" for m in routed):
            continue
        if not publisher_kinds:
            warnings.append(
                f"channels.{name}: reply_mode is on but no publisher is configured, so every "
                "reply will be refused (see docs/replies.md)"
            )
        elif missing:
            warnings.append(
                f"channels.{name}: reply_mode is on but {', '.join(missing)} has no publisher "
                "configured; replies to those mentions will be refused (see docs/replies.md)"
            )
    return warnings
