"""`crmbot demo`: the whole loop on one machine with no accounts.

The bundled stream (mentions, CRM events and simulated teammates' actions) is replayed
time-compressed on a virtual clock, shifted by whole days so that it ends within the day
before the demo started (each event keeps its time of day), so metrics over "the last 7d"
cover it; afterwards the clock is the wall clock. The
person at the keyboard types ``/crm ...`` commands while it runs (or gives a script).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from rich.text import Text
from sqlmodel import select

from bot.app import CrmBot
from bot.chat.console import ConsoleAdapter
from bot.sources.jsonl import BadLine, Line, read_lines
from bot.sources.schema import SchemaError, event_time, parse_event
from handlers import actions
from handlers.errors import UserError
from handlers.events import Actor
from handlers.suggest import knowledge
from storage.models import CrmEvent, Mention

log = logging.getLogger(__name__)

QUIT_WORDS = {"quit", "exit", ":q"}
DEMO_STREAM = "demo_stream.jsonl"
KNOWLEDGE_BASE = "knowledge_base.jsonl"


@contextmanager
def bundled(name: str) -> Iterator[Path]:
    """A data file shipped in the package (``bot/data/``), as a path on disk."""
    with resources.as_file(resources.files("bot").joinpath("data", name)) as path:
        yield path


def seed_knowledge_base(bot: CrmBot, path: Path | None = None) -> int:
    """Load approved replies (grounding for suggested replies) from ``path``, by default the
    demo's bundled knowledge base; 0 when the file is absent."""
    if path is None:
        with bundled(KNOWLEDGE_BASE) as shipped:
            return seed_knowledge_base(bot, shipped)
    if not path.exists():
        return 0
    with bot.db.session() as session:
        return knowledge.load_seed(session, path, bot.clock.now())


class DemoClock:
    """Virtual time during the replay, wall-clock time after it."""

    def __init__(self) -> None:
        self._virtual: datetime | None = None

    def now(self) -> datetime:
        real = datetime.now(UTC)
        if self._virtual is None or self._virtual > real:
            return real
        return self._virtual

    def set_virtual(self, when: datetime | None) -> None:
        self._virtual = when


@dataclass(slots=True)
class ReplayStats:
    events: int = 0
    duplicates: int = 0
    actions: int = 0
    skipped: list[BadLine] = field(default_factory=list)


def whole_days_shift(last: datetime, now: datetime) -> timedelta:
    """The shift that moves the stream's last event to the latest time at or before ``now``
    that has the same time of day: whole days, so each event keeps its time of day and
    business-hours figures do not depend on the hour the demo is run."""
    return timedelta(days=(now - last) // timedelta(days=1))


def _shift(data: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    shifted = dict(data)
    for key in ("posted_at", "occurred_at", "at"):
        value = shifted.get(key)
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            shifted[key] = (when + delta).isoformat()
    return shifted


class DemoRunner:
    """Replays a stream into a CrmBot with the console adapter and takes commands."""

    def __init__(
        self,
        bot: CrmBot,
        console: ConsoleAdapter,
        clock: DemoClock,
        user: str,
        speed: float | None,
        teammates: bool = True,
    ) -> None:
        self.bot = bot
        self.console = console
        self.clock = clock
        self.actor = Actor(platform="console", user_id=user, name=user)
        self.speed = speed
        self.teammates = teammates
        self.stats = ReplayStats()

    def load(self, path: Path) -> list[tuple[datetime, Line]]:
        """The stream's usable lines with their times; bad lines are reported and skipped."""
        timed: list[tuple[datetime, Line]] = []
        for line in read_lines(path):
            if isinstance(line, BadLine):
                self._skip(line)
                continue
            when = event_time(line.data)
            if when is None or when.tzinfo is None:
                self._skip(BadLine(line.number, "no valid posted_at / occurred_at / at time"))
                continue
            timed.append((when, line))
        timed.sort(key=lambda item: (item[0], item[1].number))
        return timed

    def _skip(self, bad: BadLine) -> None:
        self.stats.skipped.append(bad)
        self.console.console.print(Text(f"skipped {bad}", style="yellow"))

    async def replay(self, path: Path) -> ReplayStats:
        """Feed the stream in, on the virtual clock."""
        timed = self.load(path)
        if not timed:
            return self.stats
        delta = whole_days_shift(timed[-1][0], datetime.now(UTC))
        began = time.monotonic()
        first_virtual = timed[0][0] + delta
        for when, line in timed:
            virtual = when + delta
            if self.speed:
                wait = (virtual - first_virtual).total_seconds() / self.speed - (
                    time.monotonic() - began
                )
                if wait > 0:
                    await asyncio.sleep(wait)
            self.clock.set_virtual(virtual)
            self._feed(line, delta)
            await self.bot.dispatcher.drain()
        await self.bot.suggestions.idle()  # suggested replies follow their alerts
        await self.bot.dispatcher.drain()
        self.clock.set_virtual(None)
        return self.stats

    def _feed(self, line: Line, delta: timedelta) -> None:
        data = _shift(line.data, delta)
        if data.get("type") == "action":
            if self.teammates:
                self._teammate(line.number, data)
            return
        try:
            event = parse_event(data)
        except SchemaError as exc:
            self._skip(BadLine(line.number, str(exc)))
            return
        result = self.bot.ingest([event])
        self.stats.events += result.stored
        self.stats.duplicates += result.duplicates

    def _teammate(self, number: int, data: dict[str, Any]) -> None:
        ref = data.get("ref") or {}
        staff, action = data.get("staff"), data.get("action")
        if not isinstance(staff, str) or action not in ("claim", "reply", "resolve"):
            self._skip(
                BadLine(number, "an action needs 'staff' and 'action' (claim/reply/resolve)")
            )
            return
        conversation_id = self._conversation_of(str(ref.get("source")), str(ref.get("id")))
        if conversation_id is None:
            return
        actor = Actor(platform="console", user_id=staff, name=staff)
        try:
            if action == "claim":
                actions.claim(self.bot.ctx, actor, conversation_id)
            elif action == "reply":
                actions.reply(self.bot.ctx, actor, conversation_id, data.get("text"))
            else:
                actions.resolve(self.bot.ctx, actor, conversation_id)
        except UserError:
            return  # someone (maybe you) got there first
        self.stats.actions += 1

    def _conversation_of(self, source: str, external_id: str) -> int | None:
        with self.bot.db.session() as session:
            for model in (Mention, CrmEvent):
                found = session.exec(
                    select(model.conversation_id).where(
                        model.source == source, model.external_id == external_id
                    )
                ).first()
                if found is not None:
                    return int(found)
        return None

    def run_command(self, text: str) -> bool:
        """Run one typed line; False when the user wants to quit."""
        line = text.strip()
        if not line or line.startswith("#"):
            return True
        if line.lower() in QUIT_WORDS:
            return False
        prompt = Text(f"{self.actor.user_id}> ", style="bold green")
        prompt.append(line)
        self.console.console.print(prompt)
        reply = self.bot.command(self.actor, line, channel="console")  # "/crm" is optional
        self.console.show_reply(reply)
        return True

    async def run_script(self, lines: list[str]) -> None:
        """Run commands one per line (``#`` comments and blank lines are skipped)."""
        for raw in lines:
            if not self.run_command(raw):
                break
            await self.bot.dispatcher.drain()
            await self.bot.suggestions.idle()
            await self.bot.dispatcher.drain()

    async def interactive(self, replay: asyncio.Task[ReplayStats], read: Callable[[], str]) -> None:
        """Read commands until EOF or quit, while the replay runs."""
        while True:
            text = await read_in_background(read)
            if text == "":  # end of input: let the replay finish, then stop
                await asyncio.gather(replay, return_exceptions=True)
                return
            if not self.run_command(text):
                replay.cancel()
                return
            await self.bot.dispatcher.drain()

    def summary(self) -> str:
        skipped = f", {len(self.stats.skipped)} bad lines skipped" if self.stats.skipped else ""
        return (
            f"Replayed {self.stats.events} events ({self.stats.duplicates} duplicates ignored), "
            f"{self.stats.actions} teammate actions{skipped}."
        )


async def read_in_background(read: Callable[[], str]) -> str:
    """``read()`` on a daemon thread: unlike ``asyncio.to_thread``, a blocked read does not
    keep the process alive when Ctrl-C stops the demo."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def settle(text: str | None, error: BaseException | None) -> None:
        if answer.done():
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(text or "")

    def work() -> None:
        try:
            text, error = read(), None
        except Exception as exc:
            text, error = None, exc
        with suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, text, error)

    threading.Thread(target=work, name="demo-input", daemon=True).start()
    return await answer


async def run_demo(
    runner: DemoRunner,
    stream: Path,
    script: list[str] | None,
    read: Callable[[], str] = sys.stdin.readline,
) -> None:
    """Replay ``stream``; then run ``script`` if given, else take commands until quit."""
    out = runner.console.console
    seeded = seed_knowledge_base(runner.bot)
    if seeded:
        out.print(f"[dim]knowledge base: {seeded} approved replies[/dim]")
    await runner.bot.start()
    try:
        if script is not None:
            await runner.replay(stream)
            out.print(f"[bold]{runner.summary()}[/bold]")
            await runner.run_script(script)
            return
        out.print(
            "[bold]crmbot demo[/bold]: alerts appear below. Type [cyan]/crm help[/cyan], "
            "[cyan]/crm queue[/cyan], [cyan]/crm claim 12[/cyan] ... and [cyan]quit[/cyan] to stop."
        )
        replay = asyncio.create_task(runner.replay(stream))
        replay.add_done_callback(
            lambda task: (
                out.print(f"[bold]{runner.summary()}[/bold]")
                if not task.cancelled() and task.exception() is None
                else None
            )
        )
        await runner.interactive(replay, read)
        if not replay.done():
            await asyncio.gather(replay, return_exceptions=True)
    finally:
        await runner.bot.stop()
