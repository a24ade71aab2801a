"""Escalation of unclaimed alerts: a persistent timer per alert, cancelled by a claim,
neither lost nor doubled by a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import Session, select

from bot import jobs
from bot.app import CrmBot
from bot.escalations import EscalationTimers, job_id
from bot.job_runs import LEASE, JobRuns
from bot.scheduler import make_scheduler
from handlers.cards import AlertCard
from handlers.escalation import escalate
from handlers.events import Actor
from storage.models import HandlingEvent
from tests.conftest import TEST_CONFIG, BotHarness, RecordingAdapter, make_config, mention

ESCALATING = TEST_CONFIG.replace(
    '[[routes]]\nmatch = { team = "support" }\nchannel = "support"\n',
    '[[routes]]\nmatch = { team = "support" }\nchannel = "support"\n'
    'escalate = { after = "15m", to = "leads", mention = ["@ana", "@support-oncall"] }\n',
).replace("[channels.social]", "[channels.leads]\n[channels.social]") + (
    '\n[groups.support-oncall]\nslack = "S0ONCALL"\ndiscord = "4455"\n'
)


class EscalatingHarness(BotHarness):
    """Delivery also waits for the escalation timers the alerts started (they are stored
    in a worker thread, off the event loop)."""

    def __init__(self, bot: CrmBot, adapter: RecordingAdapter, clock, timers: EscalationTimers):
        super().__init__(bot, adapter, clock)
        self.timers = timers

    async def deliver(self) -> int:
        posted = await super().deliver()
        await self.timers.idle()
        return posted


@pytest_asyncio.fixture
async def esc(database_url: str, clock) -> AsyncIterator[tuple[BotHarness, AsyncIOScheduler]]:
    adapter = RecordingAdapter()
    bot = CrmBot(database_url, make_config(ESCALATING), [adapter], clock=clock)
    scheduler = make_scheduler(bot.db.engine)
    timers = EscalationTimers(bot, scheduler)
    jobs.bind(bot)
    yield EscalatingHarness(bot, adapter, clock, timers), scheduler
    jobs.bind(None)
    if scheduler.running:
        scheduler.shutdown(wait=False)
    bot.ingestor.close()
    bot.db.dispose()


async def test_unclaimed_alert_escalates_after_the_delay(esc) -> None:
    h, scheduler = esc
    scheduler.start(paused=True)
    h.bot.ingest([mention("site is down")])
    await h.deliver()
    job = scheduler.get_job(job_id(1, 1, 0))
    assert job is not None and job.next_run_time == h.clock.now() + timedelta(minutes=15)

    h.clock.advance(minutes=15)
    jobs.run_escalation(*job.args)  # the scheduler would call this at next_run_time
    await h.deliver()
    (repost,) = [p for p in h.adapter.posts if p.destination == "leads"]
    assert isinstance(repost.card, AlertCard)
    (note,) = [p for p in h.adapter.posts if p.card.kind == "notice"]
    assert note.destination == "support" and note.thread_ref == h.adapter.posts[0].ref
    assert note.card.text == "Unclaimed for 15m: escalated to #leads."
    assert repost.card.escalation == "Unclaimed for 15m"
    assert [(p.name, p.kind, p.ids) for p in repost.card.ping_list()] == [
        ("ana", "user", {"console": "ana"}),
        ("support-oncall", "group", {"slack": "S0ONCALL", "discord": "4455"}),
    ]
    assert repost.card.text == "site is down"
    with Session(h.bot.db.engine) as s:
        kinds = [e.kind for e in s.exec(select(HandlingEvent)).all()]
    assert kinds == ["alerted", "escalated"]
    # the claim updates the alert in both channels
    h.say("claim 1", "ana")
    await h.deliver()
    assert {p.destination for p in h.adapter.posts if p.edit} == {"support", "leads"}


async def test_a_claim_cancels_the_escalation(esc) -> None:
    h, scheduler = esc
    scheduler.start(paused=True)
    h.bot.ingest([mention("site is down")])
    await h.deliver()
    assert scheduler.get_job(job_id(1, 1, 0)) is not None
    h.say("claim 1", "ben")
    assert scheduler.get_job(job_id(1, 1, 0)) is None
    # and even a timer that fired anyway does nothing once claimed
    jobs.run_escalation(1, 1, 0)
    await h.deliver()
    assert not any(p.destination == "leads" for p in h.adapter.posts)


def _escalations(h: BotHarness) -> tuple[int, int]:
    """(re-posts to #leads, notices in the alert's thread) the chat has seen."""
    reposts = [p for p in h.adapter.posts if p.destination == "leads" and not p.edit]
    notices = [p for p in h.adapter.posts if p.card.kind == "notice"]
    return len(reposts), len(notices)


async def _alerted(h: BotHarness, scheduler: AsyncIOScheduler) -> Job:
    """An alert is out on a paused scheduler; its escalation timer, as stored."""
    scheduler.start(paused=True)
    h.bot.ingest([mention("site is down")])
    await h.deliver()
    job = scheduler.get_job(job_id(1, 1, 0))
    assert job is not None
    return job


async def test_an_escalation_cut_short_by_a_dead_replica_fires_once(esc) -> None:
    h, scheduler = esc
    job = await _alerted(h, scheduler)
    # when it is due the leader claims the firing and APScheduler drops the one-off job
    # from the store; then the leader dies before the escalation is recorded
    h.clock.advance(minutes=15)
    dead = JobRuns(h.bot.db, "dead-replica", h.clock.now)
    assert dead.claim(job, job.next_run_time)
    scheduler.remove_job(job.id)
    survivor = JobRuns(h.bot.db, "survivor", h.clock.now)
    assert await survivor.recover() == 0  # the dead replica's lease has not run out yet
    h.clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await survivor.recover() == 1
    await h.deliver()
    assert _escalations(h) == (1, 1)
    # had the old leader been alive after all and finished its run, nothing more is posted
    jobs.run_escalation(1, 1, 0)
    assert await survivor.recover() == 0
    await h.deliver()
    assert _escalations(h) == (1, 1)


async def test_two_runs_of_one_timer_at_once_escalate_once(esc) -> None:
    h, scheduler = esc
    await _alerted(h, scheduler)
    h.clock.advance(minutes=15)
    # an old leader still finishing and the new one, at the same moment
    done = await asyncio.gather(
        asyncio.to_thread(escalate, h.bot.ctx, 1, 1, 0),
        asyncio.to_thread(escalate, h.bot.ctx, 1, 1, 0),
    )
    assert sorted(done) == [False, True]
    await h.deliver()
    assert _escalations(h) == (1, 1)
    with Session(h.bot.db.engine) as s:
        kinds = [e.kind for e in s.exec(select(HandlingEvent)).all()]
    assert kinds == ["alerted", "escalated"]


async def test_routes_without_escalation_start_no_timer(esc) -> None:
    h, scheduler = esc
    scheduler.start(paused=True)
    h.bot.ingest([mention("what is your pricing")])
    await h.deliver()
    assert scheduler.get_jobs() == []


async def test_timers_survive_a_restart_without_doubling(database_url: str, clock) -> None:
    bot = CrmBot(database_url, make_config(ESCALATING), [RecordingAdapter()], clock=clock)
    first = make_scheduler(bot.db.engine)
    first_timers = EscalationTimers(bot, first)
    first.start(paused=True)
    bot.ingest([mention("site is down")])
    await bot.dispatcher.drain()
    await first_timers.idle()
    first.shutdown(wait=False)

    second = make_scheduler(bot.db.engine)  # the process restarted
    timers = EscalationTimers(bot, second)
    second.start(paused=True)
    assert [j.id for j in second.get_jobs()] == [job_id(1, 1, 0)]
    timers.start(1, 1, clock.now())  # the same alert reported again: replaced, not doubled
    await timers.idle()
    assert [j.id for j in second.get_jobs()] == [job_id(1, 1, 0)]
    second.shutdown(wait=False)
    bot.db.dispose()


REPEATING = TEST_CONFIG.replace(
    '[[routes]]\nmatch = { team = "support" }\nchannel = "support"\n',
    '[[routes]]\nmatch = { team = "support" }\nchannel = "support"\nrepeat_interval = "1h"\n',
)


async def test_repeat_interval_reposts_unclaimed_alerts_together(database_url: str, clock) -> None:
    from handlers.cards import DigestCard
    from handlers.escalation import check_repeats

    adapter = RecordingAdapter()
    bot = CrmBot(database_url, make_config(REPEATING), [adapter], clock=clock)
    bot.ingest([mention("site down", author_handle="a"), mention("app down", author_handle="b")])
    bot.ingest([mention("pricing?", author_handle="c")])  # sales: no repeat_interval
    await bot.dispatcher.drain()
    clock.advance(minutes=59)
    assert check_repeats(bot.ctx) == []
    clock.advance(minutes=2)
    assert check_repeats(bot.ctx) == [1, 2]
    assert check_repeats(bot.ctx) == []  # not again until another hour has passed
    await bot.dispatcher.drain()
    digest = adapter.posts[-1]
    assert isinstance(digest.card, DigestCard) and digest.destination == "support"
    assert digest.card.total == 2
    assert digest.card.reason == "still unclaimed (repeat_interval of routes[0])"
    bot.command(Actor("console", "ana", "ana"), "claim 1")
    clock.advance(hours=1, minutes=1)
    assert check_repeats(bot.ctx) == [2]  # the claimed one is no longer repeated
    bot.db.dispose()
