"""Every action exactly once: two people racing for one alert, and chat platforms that
deliver the same event more than once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, func, select

from handlers.commands import handle_command
from handlers.events import Actor, Command
from storage.models import HandlingEvent
from tests.conftest import BotHarness, mention

RACED = 50


def _claims(h: BotHarness) -> int:
    with Session(h.bot.db.engine) as s:
        return int(
            s.exec(
                select(func.count())
                .select_from(HandlingEvent)
                .where(HandlingEvent.kind == "claimed")
            ).one()
        )


def test_two_people_pressing_claim_at_once_claim_it_once(harness: BotHarness) -> None:
    harness.bot.ingest(
        [mention(f"the app is down {n}", author_handle=f"u{n}") for n in range(RACED)]
    )
    barriers = [threading.Barrier(2) for _ in range(RACED)]

    def press(user: str) -> list[str]:
        answers = []
        for n in range(1, RACED + 1):
            barriers[n - 1].wait(timeout=30)
            answers.append(harness.say(f"claim {n}", user))
        return answers

    with ThreadPoolExecutor(2) as pool:
        ana, ben = pool.map(press, ["ana", "ben"])
    assert _claims(harness) == RACED
    for n, answers in enumerate(zip(ana, ben, strict=True), start=1):
        won = [a for a in answers if a == f"You claimed #{n}."]
        lost = [a for a in answers if a.startswith(f"#{n} is already claimed by @")]
        assert (len(won), len(lost)) == (1, 1), answers
    # the metrics credit one claim per conversation
    staff_table = harness.exec("metrics 7d", "lead").tables[-1]
    claims_column = staff_table.columns.index("claims")
    assert sum(int(row[claims_column]) for row in staff_table.rows) == RACED


def _command(text: str, delivery: str, user: str = "ana") -> Command:
    return Command(actor=Actor("console", user, user), text=text, delivery_id=delivery)


def test_a_redelivered_command_is_recorded_once_and_answered_the_same(
    harness: BotHarness,
) -> None:
    harness.bot.ingest([mention("the app is down")])
    ctx = harness.bot.ctx
    first = handle_command(ctx, _command("reply 1 On it", "command:T1"))
    again = handle_command(ctx, _command("reply 1 On it", "command:T1"))
    assert first.text == again.text == "Recorded your reply on #1 and assigned it to you."
    kinds = [row[1] for row in harness.exec("show 1").tables[0].rows]
    assert kinds == ["claimed", "replied"]
    # a new delivery of the same words is a new reply
    handle_command(ctx, _command("reply 1 On it", "command:T2"))
    assert [row[1] for row in harness.exec("show 1").tables[0].rows].count("replied") == 2


def test_a_refused_action_is_not_remembered_so_its_redelivery_is_answered_the_same(
    harness: BotHarness,
) -> None:
    harness.bot.ingest([mention("the app is down")])
    ctx = harness.bot.ctx
    harness.say("claim 1", "ben")
    first = handle_command(ctx, _command("claim 1", "command:T3"))
    again = handle_command(ctx, _command("claim 1", "command:T3"))
    assert (
        first.text
        == again.text
        == "#1 is already claimed by @ben. Ask them to `/crm handoff 1 @ana`."
    )
    assert _claims(harness) == 1


def test_redeliveries_racing_each_other_are_done_once(harness: BotHarness) -> None:
    harness.bot.ingest([mention(f"down {n}", author_handle=f"r{n}") for n in range(10)])
    ctx = harness.bot.ctx
    barrier = threading.Barrier(3)

    def deliver(n: int) -> str:
        barrier.wait(timeout=30)
        return handle_command(ctx, _command(f"reply {n} hi", f"command:R{n}")).text

    for n in range(1, 11):
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(deliver, [n] * 3))
        assert f"Recorded your reply on #{n} and assigned it to you." in answers
    with Session(harness.bot.db.engine) as s:
        replied = s.exec(select(HandlingEvent).where(HandlingEvent.kind == "replied")).all()
    assert len(replied) == 10


def test_delivery_keys_are_forgotten_after_a_day(harness: BotHarness) -> None:
    from handlers import once

    harness.bot.ingest([mention("the app is down")])
    handle_command(harness.bot.ctx, _command("claim 1", "command:OLD"))
    assert once.prune(harness.bot.db, harness.clock.now()) == 0
    harness.clock.advance(hours=25)
    assert once.prune(harness.bot.db, harness.clock.now()) == 1
