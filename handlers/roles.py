"""Who may do what: admins, managers, staff.

A person's role is the highest of their staff record's role (from ``[[staff]]``) and
any ``[roles]`` entry naming their chat identity (``slack:U123``) or one of their
platform groups (``slack-group:S123``, ``discord-role:456``).
"""

from __future__ import annotations

from handlers.config import CrmbotConfig
from handlers.errors import UserError
from handlers.events import Actor
from storage.models import Staff

RANK = {"staff": 0, "manager": 1, "admin": 2}


def effective_role(config: CrmbotConfig, staff: Staff | None, actor: Actor) -> str:
    """The highest role this person has."""
    role = staff.role if staff is not None and staff.role in RANK else "staff"
    ids = {f"{actor.platform}:{actor.user_id}", *actor.groups}
    for name, members in (("manager", config.roles.managers), ("admin", config.roles.admins)):
        if ids.intersection(members) and RANK[name] > RANK[role]:
            role = name
    return role


def require(
    config: CrmbotConfig, staff: Staff | None, actor: Actor, needed: str, what: str
) -> None:
    """Raise a UserError unless the person has at least role ``needed``."""
    if RANK[effective_role(config, staff, actor)] < RANK[needed]:
        raise UserError(
            f"Only {needed}s can {what}. Ask an admin to add you to [roles] in the config."
        )
