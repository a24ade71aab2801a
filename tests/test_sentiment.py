"""Sentiment that reads support traffic right (issue 12): the offline labeller's labels,
admin-extended lexicons, and one label wherever staff look."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.config_loader import ConfigError, load_config_text
from handlers.cards import AlertCard, StatusCard
from handlers.config_checks import run_config_tests
from handlers.rules import compile_rules
from handlers.sentiment import SentimentScorer, label
from handlers.sentiment.offline import star_rating
from handlers.sentiment.scorer import MAX_SHARE, MIN_SHARE, SHARE_UP, PendingScores
from storage.models import Conversation, Outbox
from storage.models import Mention as MentionRow
from tests.conftest import TEST_CONFIG, BotHarness, make_config, mention


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return SentimentScorer(workers=0)


# The examples, and the patterns behind them.
@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Your app keeps crashing when I upload a photo, I want a refund", None, "negative"),
        (
            "Acme Cloud cutting the free tier to 5 GB in the same release as a shiny AI "
            "feature is a choice. @acmecloud",
            None,
            "negative",
        ),
        (
            "Dropped my phone in the Thames last night. New phone this morning and every "
            "photo is back thanks to @acmecloud. Never been happier to pay for software 🙌",
            None,
            "positive",
        ),
        ("Cloud backup for RAW files: is Acme Cloud any good?", None, "neutral"),
        (
            "★☆☆☆☆ Sync conflicts everywhere. Our small office uses it for shared folders and "
            "we get conflicted copies every day. Support is polite but slow.",
            None,
            "negative",
        ),
        ("★★★★★ Simple and it just works.", None, "positive"),
        ("2/5, the features are nice but I get logged out constantly.", None, "negative"),
        ("Great... another outage", None, "negative"),
        ("I was charged twice this month.", None, "negative"),
        ("Upload has been stuck at 99% for two hours.", None, "negative"),
        ("The desktop app logs me out every morning.", None, "negative"),
        ("Not bad at all, the new uploader is way faster.", None, "positive"),
        ("Why does the app keep crashing every time I open the camera roll?", None, "negative"),
        ("@acmecloud what's the difference between Pro and Family?", None, "neutral"),
        (
            "¿A alguien más se le cierra la app de @acmecloud al subir fotos? Desde la "
            "actualización es imposible 😤",
            "es",
            "negative",
        ),
        ("Merci @acmecloud, le support a réglé mon problème en cinq minutes !", "fr", "positive"),
        ("La synchronisation est bloquée depuis hier. Très déçu.", "fr", "negative"),
        (
            "Die App stürzt bei jedem Video-Upload ab. Seit dem Update unbrauchbar.",
            "de",
            "negative",
        ),
        ("Großartiger Support, Problem in zehn Minuten gelöst. Danke!", "de", "positive"),
        # no language given: told apart by its words ("die" is not English "die" here)
        ("Die neue Suche ist wirklich beeindruckend und sehr schnell.", None, "positive"),
    ],
)
def test_labels_read_support_traffic_right(
    scorer: SentimentScorer, text: str, lang: str | None, expected: str
) -> None:
    assert label(scorer.score(text, lang)) == expected


def test_star_ratings_in_their_usual_spellings() -> None:
    assert star_rating("★★☆☆☆ meh") == 2
    assert star_rating("★★★★★") == 5
    assert star_rating("4/5, lost a star for the price") == 4
    assert star_rating("Rating: 1 star. Cancel button hidden") == 1
    assert star_rating("10/10 support experience") == 5
    assert star_rating("2/ Uploads are noticeably faster") is None
    assert star_rating("Acme Cloud 5.0 is out") is None


def test_a_three_star_review_is_neutral_whatever_its_words(scorer: SentimentScorer) -> None:
    assert label(scorer.score("★★★☆☆ Great search, terrible sync.")) == "neutral"


def test_the_angry_customer_rule_no_longer_fires_on_a_question() -> None:
    config = load_config_text(
        TEST_CONFIG
        + """
[[rules]]
name = "angry customer"
sentiment_max = -0.5
labels = { team = "support" }

[[tests]]
name = "a question is not anger"
event = { type = "mention", text = "Cloud backup for RAW files: is Acme Cloud any good?" }
expect = ["social"]

[[tests]]
name = "a polite complaint is"
event = { type = "mention", text = "Charged twice and still no refund after three emails." }
expect = ["support"]
"""
    )
    outcomes = run_config_tests(compile_rules(config))
    assert [o.passed for o in outcomes] == [True, True], outcomes


def test_admins_extend_the_lexicon_in_config(tmp_path: Path) -> None:
    extra = tmp_path / "ours.tsv"
    extra.write_text("# our product words\nmeltdown\t-3.0\nphoto vault\t2.0\tde\n", "utf-8")
    config = load_config_text(
        f"""
[sentiment]
lexicons = ["{extra}"]
terms = {{ "acme magic" = 3.0 }}
"""
    )
    default = SentimentScorer(workers=0)
    extended = SentimentScorer(workers=0, config=config.sentiment)
    assert label(default.score("Total meltdown today")) == "neutral"
    assert label(extended.score("Total meltdown today")) == "negative"
    assert label(extended.score("That was some acme magic")) == "positive"
    # a term for one language does not leak into the others
    assert label(extended.score("Der photo vault", "de")) == "positive"
    assert label(extended.score("The photo vault", "en")) == "neutral"


def test_a_bad_lexicon_line_is_a_config_error_naming_file_and_line(tmp_path: Path) -> None:
    extra = tmp_path / "bad.tsv"
    extra.write_text("meltdown\t-3.0\noutage\tvery bad\n", "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config_text(f'[sentiment]\nlexicons = ["{extra}"]\n')
    assert f"{extra}:2" in str(caught.value)
    assert "'very bad' is not a number" in str(caught.value)
    with pytest.raises(ConfigError, match="between -4 and 4"):
        load_config_text('[sentiment]\nterms = { "meltdown" = -9 }\n')
    with pytest.raises(ConfigError, match="cannot read"):
        load_config_text(f'[sentiment]\nlexicons = ["{tmp_path / "missing.tsv"}"]\n')


def test_worker_processes_score_with_the_admin_terms_too() -> None:
    config = load_config_text('[sentiment]\nterms = { "meltdown" = -3.0 }\n')
    scorer = SentimentScorer(workers=1, config=config.sentiment)
    try:
        texts = ["Total meltdown today"] * 200
        scores = scorer.begin(texts, langs=["en"] * 200).result()
    finally:
        scorer.close()
    assert all(label(s) == "negative" for s in scores)
    assert len(set(scores)) == 1


def test_ingest_follows_a_reloaded_lexicon(harness: BotHarness) -> None:
    harness.bot.ingest([mention("@acme the sync had a meltdown", author_handle="kim")])
    harness.bot.apply_config(
        make_config(TEST_CONFIG + '[sentiment]\nterms = { "meltdown" = -3.0 }\n')
    )
    harness.bot.ingest([mention("@acme another meltdown", author_handle="lee")])
    with harness.bot.db.session() as session:
        rows = session.exec(select(MentionRow).order_by(col(MentionRow.id))).all()
    assert [label(r.sentiment) for r in rows] == ["neutral", "negative"]


def _conversation(h: BotHarness) -> Conversation:
    with h.bot.db.session() as session:
        conv = session.exec(select(Conversation)).one()
    return conv


def _alert_payloads(h: BotHarness) -> list[AlertCard]:
    with h.bot.db.session() as session:
        rows = session.exec(select(Outbox).where(Outbox.kind == "alert")).all()
    return [AlertCard.from_payload(r.payload) for r in rows]


def test_queue_card_and_show_agree_when_others_reply_in_the_thread(harness: BotHarness) -> None:
    h = harness
    h.bot.ingest(
        [
            mention(
                "Sync is down again and support is not answering",
                thread_id="t1",
                author_handle="kim",
            )
        ]
    )
    # someone else cheers in the same thread: the customer is still unhappy
    h.bot.ingest([mention("@kim great thread, love it!", thread_id="t1", author_handle="fan")])
    # a neutral nudge from the customer does not clear their mood either
    h.bot.ingest([mention("hello??", thread_id="t1", author_handle="kim")])
    conv = _conversation(h)
    assert label(conv.sentiment) == "negative"
    queue = h.exec("queue").tables[0].rows
    assert queue[0][3] == "negative"
    assert f"sentiment: negative ({conv.sentiment:+.2f}, offline)" in h.say(f"show {conv.id}")
    assert [c.sentiment_label for c in _alert_payloads(h)] == ["negative"]


async def test_a_changed_label_redraws_the_posted_alert(harness: BotHarness) -> None:
    h = harness
    h.bot.ingest(
        [mention("The app is down and not working for me", thread_id="t2", author_handle="kim")]
    )
    await h.deliver()
    h.bot.ingest(
        [mention("Works perfectly now, thanks so much!", thread_id="t2", author_handle="kim")]
    )
    await h.deliver()
    conv = _conversation(h)
    assert label(conv.sentiment) == "positive"
    assert h.exec("queue").tables[0].rows[0][3] == "positive"
    assert "sentiment: positive" in h.say(f"show {conv.id}")
    assert [c.sentiment_label for c in _alert_payloads(h)] == ["positive"]
    redraws = [p.card for p in h.adapter.posts if p.edit]
    assert len(redraws) == 1 and isinstance(redraws[0], StatusCard)
    assert redraws[0].line.startswith("sentiment now positive")
    assert redraws[0].status == "open"


def test_trouble_with_a_competitor_is_not_a_complaint_about_us() -> None:
    text = (
        "Cloud backup for RAW files in 2026: is Acme Cloud any good?\n\nShooting ~40 GB of RAW "
        "per wedding. Currently on Dropbox but the previews for CR3 and NEF are awful. Acme "
        "Cloud claims proper RAW previews. Anyone using it for client work?"
    )
    config = load_config_text('[sentiment]\ncompetitors = ["Dropbox", "Google Photos"]\n')
    ours = SentimentScorer(workers=0, config=config.sentiment)
    assert SentimentScorer(workers=0).score(text) <= -0.5  # what fired "angry customer"
    assert label(ours.score(text)) == "neutral"
    assert label(ours.score("Moved off Google Photos, their search is awful. Acme is great.")) == (
        "positive"
    )


def test_scores_keep_their_order_whatever_the_workers_share() -> None:
    texts = [f"{word} number {n}" for n in range(300) for word in ("great", "awful", "fine")][:300]
    scorer = SentimentScorer(workers=1)
    try:
        expected = [scorer.score(t) for t in texts]
        for share in (MIN_SHARE, 0.6, MAX_SHARE):
            scorer.worker_share = share
            assert scorer.begin(texts).result() == expected
    finally:
        scorer.close()


def test_the_workers_share_grows_when_they_were_done_and_shrinks_when_waited_for() -> None:
    scorer = SentimentScorer(workers=1)
    done: Future[list[float]] = Future()
    done.set_result([0.0] * 10)
    start = scorer.worker_share
    PendingScores(scorer, [done], ["fine"], [None]).result()
    assert scorer.worker_share == pytest.approx(start + SHARE_UP)
    for _ in range(100):
        scorer.balance(workers_were_done=False)
    assert scorer.worker_share == MIN_SHARE  # never all on this process
    for _ in range(100):
        scorer.balance(workers_were_done=True)
    assert scorer.worker_share == MAX_SHARE
