"""Who may do what: strangers nothing, staff their own work, managers everyone's, admins admin.

Only configured people are staff: those in ``[[staff]]`` (with their chat identities) and
those a ``[roles]`` entry names, by chat identity (``slack:U123``) or by one of their
platform groups (``slack-group:S123``, ``discord-role:456``); the first time such a person
acts, they get a staff record. A person's role is the highest of their staff record's
role and any ``[roles]`` entry naming them. Everyone else is refused politely, privately,
and the refusal is logged with nothing but the platform user id.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from handlers.cleantext import clean
from handlers.config import CrmbotConfig
from handlers.errors import UserError
from handlers.events import Actor
from handlers.safelog import shown
from storage import staff as staff_store
from storage.models import Staff

log = logging.getLogger(__name__)

RANK = {"staff": 0, "manager": 1, "admin": 2}
NOT_STAFF = (
    "You're not on the crmbot staff list; ask an admin to add you to [[staff]] in the config."
)


class NotStaff(UserError):
    """The person is not staff: every command and button is refused."""

    def __init__(self) -> None:
        super().__init__(NOT_STAFF)


def _ids(actor: Actor) -> set[str]:
    return {f"{actor.platform}:{actor.user_id}", *actor.groups}


def named_by_roles(config: CrmbotConfig, actor: Actor) -> bool:
    """Whether a ``[roles]`` entry names the person or one of their groups."""
    roles = config.roles
    return bool(_ids(actor).intersection((*roles.admins, *roles.managers, *roles.staff)))


def staff_of(session: Session, config: CrmbotConfig, actor: Actor, now: datetime) -> Staff | None:
    """The staff record behind a chat user; None for someone who is not staff.

    A person named by ``[roles]`` but not in ``[[staff]]`` gets a record the first time."""
    if clean(actor.user_id) != actor.user_id or clean(actor.platform) != actor.platform:
        return None  # no chat platform has such ids; nobody configured one
    staff = staff_store.staff_for_identity(session, actor.platform, actor.user_id)
    if staff is None and named_by_roles(config, actor):
        staff = staff_store.create_from_identity(
            session, actor.platform, actor.user_id, actor.name, actor.email, now
        )
    return staff


def identify(session: Session, config: CrmbotConfig, actor: Actor, now: datetime) -> Staff:
    """The staff record of the person acting; NotStaff (logged) for anyone else."""
    staff = staff_of(session, config, actor, now)
    if staff is None:
        log.info("refused %s user %s: not on the staff list", actor.platform, shown(actor.user_id))
        raise NotStaff()
    return staff


def effective_role(config: CrmbotConfig, staff: Staff | None, actor: Actor) -> str:
    """The highest role this person has."""
    role = staff.role if staff is not None and staff.role in RANK else "staff"
    ids = _ids(actor)
    for name, members in (("manager", config.roles.managers), ("admin", config.roles.admins)):
        if ids.intersection(members) and RANK[name] > RANK[role]:
            role = name
    return role


def require(
    config: CrmbotConfig, staff: Staff | None, actor: Actor, needed: str, what: str
) -> None:
    """Raise a UserError (logged) unless the person has at least role ``needed``."""
    if RANK[effective_role(config, staff, actor)] < RANK[needed]:
        log.info(
            "refused %s user %s: %s needs role %s",
            actor.platform,
            shown(actor.user_id),
            what,
            needed,
        )
        raise UserError(
            f"Only {needed}s can {what}. Ask an admin to add you to [roles] in the config."
        )
