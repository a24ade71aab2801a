"""The guard every ``/crm`` command passes: staff only (or a higher role), once per delivery.

``@allowed("manager", "see the leaderboard")`` on a command function refuses strangers
(NotStaff) and people below the role (a UserError naming it), both privately and logged,
before the command reads anything; the text is cleaned of what storage cannot hold
(handlers/cleantext.py); then the command runs as its delivery, so a
redelivered command that changed something is not done twice (handlers/once.py).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from handlers import once
from handlers.cleantext import clean
from handlers.context import BotContext
from handlers.events import Command
from handlers.replies import Reply
from handlers.roles import identify, require

Runner = Callable[[BotContext, Command, list[str]], Reply]


def allowed(role: str = "staff", what: str = "do that") -> Callable[[Runner], Runner]:
    """Decorator: the command runs only for people with at least ``role``."""

    def wrap(run: Runner) -> Runner:
        @functools.wraps(run)
        def guarded(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
            cmd = dataclasses.replace(cmd, text=clean(cmd.text))
            args = [clean(arg) for arg in args]
            with ctx.db.session() as session:
                staff = identify(session, ctx.config, cmd.actor, ctx.clock.now())
            require(ctx.config, staff, cmd.actor, role, what)
            return once.run(
                ctx.db,
                cmd.actor.platform,
                cmd.delivery_id,
                lambda: run(ctx, cmd, args),
                lambda reply: reply.text,
            )

        return guarded

    return wrap
