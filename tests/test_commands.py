"""Staff work conversations with /crm commands; every action is recorded with who and when."""

from __future__ import annotations

from sqlmodel import Session, select

from handlers.cards import StatusCard
from storage.models import Cycle, HandlingEvent, Staff
from tests.conftest import BotHarness, mention


async def test_claim_reply_resolve_updates_the_alert_and_history(harness: BotHarness) -> None:
    harness.bot.ingest([mention("the app is down", author_handle="jroe")])
    await harness.deliver()
    harness.clock.advance(minutes=2)
    assert harness.say("claim 1", "ana") == "You claimed #1."
    harness.clock.advance(minutes=3)
    assert (
        harness.say("reply 1 Sorry about that, fixing now", "ana") == "Recorded your reply on #1."
    )
    harness.clock.advance(minutes=10)
    assert harness.say("resolve #1", "ana") == "Resolved #1."
    await harness.deliver()

    edits = [p for p in harness.adapter.posts if p.edit]
    lines = [p.card.line for p in edits if isinstance(p.card, StatusCard)]
    assert lines == ["claimed by @ana 2m after alert", "replied by @ana", "resolved by @ana"]
    assert all(p.ref == "msg-1" for p in edits)  # edited in place, the alert's own message

    history = harness.exec("show 1")
    rows = history.tables[0].rows
    assert [(r[1], r[2]) for r in rows] == [
        ("alerted", "bot"),
        ("claimed", "@ana"),
        ("replied", "@ana"),
        ("resolved", "@ana"),
    ]
    assert rows[2][3] == "Sorry about that, fixing now"


async def test_times_in_the_cycle_follow_the_definitions(harness: BotHarness) -> None:
    harness.bot.ingest([mention("down")])
    harness.clock.advance(minutes=1)
    await harness.deliver()  # alerted 1 minute after it was received
    harness.clock.advance(minutes=4)
    harness.say("claim 1", "ana")
    harness.clock.advance(minutes=5)
    harness.say("reply 1", "ben")  # someone else answers first
    harness.clock.advance(minutes=50)
    harness.say("resolve 1", "ana")
    with Session(harness.bot.db.engine) as s:
        cycle = s.exec(select(Cycle)).one()
    assert cycle.claim_s == 4 * 60  # claimed - alerted
    assert cycle.first_response_s == 10 * 60  # first reply - received
    assert cycle.resolution_s == 60 * 60  # resolved - received


def test_unclaimed_reply_assigns_first_responder(harness: BotHarness) -> None:
    harness.bot.ingest([mention("hi")])
    assert "assigned it to you" in harness.say("reply 1 thanks!", "ben")
    assert "@ben" in harness.say("claim 1", "ana")


def test_claim_of_someone_elses_conversation_is_refused(harness: BotHarness) -> None:
    harness.bot.ingest([mention("hi")])
    harness.say("claim 1", "ana")
    reply = harness.exec("claim 1", "ben")
    assert reply.ephemeral
    assert reply.text == "#1 is already claimed by @ana. Ask them to `/crm handoff 1 @ben`."
    assert harness.say("claim 1", "ana") == "You already have #1."


def test_handoff_moves_ownership(harness: BotHarness) -> None:
    harness.bot.ingest([mention("hi")])
    harness.say("claim 1", "ana")
    assert harness.say("handoff 1 @ben", "ana") == "Handed #1 to @ben."
    assert "#1" in harness.exec("mine", "ben").tables[0].rows[0][0]
    assert harness.say("mine", "ana").startswith("You have no open conversations")
    assert (
        harness.say("handoff 1 @nobody", "ana") == "I don't know a staff member called '@nobody'."
    )


def test_resolved_conversation_must_be_reopened_first(harness: BotHarness) -> None:
    harness.bot.ingest([mention("hi")])
    harness.say("resolve 1", "ana")
    assert "is resolved. Use `/crm reopen 1`" in harness.say("claim 1", "ben")
    assert harness.say("reopen 1", "ben") == "Reopened #1."
    assert harness.say("claim 1", "ben") == "You claimed #1."
    with Session(harness.bot.db.engine) as s:
        kinds = [e.kind for e in s.exec(select(HandlingEvent).order_by(HandlingEvent.id)).all()]  # type: ignore[arg-type]
    assert kinds == ["resolved", "reopened", "claimed"]


def test_missing_conversation_and_bad_arguments_say_what_to_do(harness: BotHarness) -> None:
    assert harness.say("claim 42") == "There is no conversation #42. Try `/crm queue`."
    assert harness.say("claim") == "Which conversation? Usage: `/crm claim <id>`"
    assert (
        harness.say("resolve abc")
        == "'abc' is not a conversation number. Usage: `/crm resolve <id>`"
    )
    assert (
        harness.say("metrics forever") == "'forever' is not a period. Use e.g. 24h, 7d, 30d or 12w."
    )


def test_unknown_command_points_to_help_without_printing_it(harness: BotHarness) -> None:
    reply = harness.exec("frobnicate 3")
    assert reply.text == "I don't know `/crm frobnicate`. `/crm help` lists the commands."
    assert reply.tables == () and reply.ephemeral
    commands = [row[0] for row in harness.exec("").tables[0].rows]  # nothing typed: the help
    assert (
        "/crm claim <id>" in commands
        and "/crm metrics [7d|30d|...] [team:NAME] [source:NAME]" in commands
    )


def test_a_misspelt_command_gets_did_you_mean(harness: BotHarness) -> None:
    assert harness.say("qeueu") == (
        "I don't know `/crm qeueu`. Did you mean `/crm queue`? `/crm help` lists the commands."
    )
    assert "Did you mean `/crm metrics`?" in harness.say("mtrics 7d")


def test_command_names_and_the_crm_prefix_are_case_insensitive(harness: BotHarness) -> None:
    harness.bot.ingest([mention("the app is down")])
    assert harness.say("/CRM Queue") == "1 open conversations, 1 unclaimed."
    assert harness.say("/crm QUEUE") == "1 open conversations, 1 unclaimed."
    assert harness.say("Claim 1", "ana") == "You claimed #1."
    assert harness.exec("/Crm").tables == harness.exec("help").tables


def test_unknown_input_is_echoed_clipped_and_without_markup(harness: BotHarness) -> None:
    reply = harness.say("x" * 5000)
    assert reply == f"I don't know `/crm {'x' * 39}…`. `/crm help` lists the commands."
    sneaky = harness.say("`<!channel>`[bold]hi")
    assert "`<!channel>`" not in sneaky and "<" not in sneaky
    assert sneaky.startswith("I don't know `/crm !channel[bold]hi`.")


def test_unexpected_error_gives_generic_reply_without_internals(
    harness: BotHarness, monkeypatch
) -> None:
    from handlers import actions

    def boom(*a, **k):
        raise RuntimeError("password=hunter2 in a connection string")

    monkeypatch.setattr(actions, "claim", boom)
    harness.bot.ingest([mention("hi")])
    reply = harness.exec("claim 1")
    assert "hunter2" not in reply.text
    assert reply.text == "Whoops, that failed on our side. The error is in the bot's log."


def test_queue_lists_unclaimed_first(harness: BotHarness) -> None:
    harness.bot.ingest([mention("first", author_handle="a")])
    harness.clock.advance(minutes=5)
    harness.bot.ingest([mention("second", author_handle="b")])
    harness.say("claim 1", "ana")
    reply = harness.exec("queue")
    assert reply.text == "2 open conversations, 1 unclaimed."
    ids = [row[0] for row in reply.tables[0].rows]
    owners = [row[5] for row in reply.tables[0].rows]
    assert ids == ["#2", "#1"] and owners == ["unclaimed", "@ana"]
    harness.say("resolve 1", "ana")
    harness.say("resolve 2", "ana")
    assert harness.say("queue") == "The queue is empty: no open conversations."


def test_a_stranger_is_refused_and_gets_no_staff_record(harness: BotHarness) -> None:
    harness.bot.ingest([mention("hi")])
    reply = harness.exec("claim 1", "U-new")
    assert reply.ephemeral
    assert reply.text == (
        "You're not on the crmbot staff list; ask an admin to add you to [[staff]] in the config."
    )
    assert harness.exec("show 1").tables[0].rows == ()  # nothing recorded
    with Session(harness.bot.db.engine) as s:
        assert sorted(st.name for st in s.exec(select(Staff)).all()) == ["ana", "ben", "lead"]
