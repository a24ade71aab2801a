"""Alert rules and routes: what matches, which labels, which channels."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config_loader import load_config_text
from handlers.config_checks import run_config_tests
from handlers.query import QueryError, parse_query
from handlers.routing import decide, route
from handlers.rules import Subject, compile_rules

CONFIG = """
[alerts]
default_channel = "social"

[vip]
handles = ["twitter:bigcustomer", "ceo_jane"]

[channels.social]
[channels.support]
[channels.sales]
[channels.exec]
[channels.audit]

[[rules]]
name = "outage"
query = '(down OR outage OR "not working") AND NOT "down payment"'
severity = "high"
labels = { team = "support" }

[[rules]]
name = "ticket ref"
regex = 'ticket #\\d+'
labels = { team = "support" }

[[rules]]
name = "angry germans"
languages = ["de"]
sentiment_max = -0.3
labels = { team = "support" }

[[rules]]
name = "vip"
vip = true
severity = "critical"
labels = { team = "exec" }

[[rules]]
name = "influencer"
min_influence = 80
platforms = ["twitter", "bluesky"]
labels = { team = "exec" }

[[rules]]
name = "big deal won"
crm_events = ["deal_stage_changed"]
min_amount = 10000
stage_to = ["closed won"]
labels = { team = "sales" }

[[rules]]
name = "stale"
unclaimed_for = "30m"
labels = { team = "support" }

[[routes]]
name = "everything is audited"
channel = "audit"
continue = true

[[routes]]
name = "exec"
match = { team = "exec" }
channel = "exec"

[[routes]]
name = "support"
match_re = { team = "support|care" }
channel = "support"

[[routes]]
name = "sales"
match = { team = "sales" }
channel = "sales"
"""


@pytest.fixture(scope="module")
def ruleset():
    return compile_rules(load_config_text(CONFIG))


def mention(text: str, **kw: Any) -> Subject:
    values: dict[str, Any] = {"kind": "mention", "text": text, "platform": "twitter"}
    values.setdefault("source", "twitter")
    values.update(kw)
    return Subject(**values)


def names(ruleset, subject: Subject) -> list[str]:
    return [r.name for r in ruleset.matching(subject)]


def test_query_boolean_logic_phrases_and_whole_words(ruleset) -> None:
    assert names(ruleset, mention("Is the site DOWN?")) == ["outage"]
    assert names(ruleset, mention("checkout is not   working")) == ["outage"]
    assert names(ruleset, mention("can I make a down payment, or is it down?")) == []
    assert names(ruleset, mention("downloads are slow")) == []  # whole words only
    assert names(ruleset, mention("Outage!")) == ["outage"]


def test_regex_language_and_sentiment(ruleset) -> None:
    assert names(ruleset, mention("see Ticket #4412")) == ["ticket ref"]
    assert names(ruleset, mention("schlecht", lang="de", sentiment=-0.6)) == ["angry germans"]
    assert names(ruleset, mention("schlecht", lang="de", sentiment=0.2)) == []
    assert names(ruleset, mention("bad", lang="en", sentiment=-0.6)) == []


def test_vip_and_influence(ruleset) -> None:
    assert names(ruleset, mention("hi", handle="bigcustomer")) == ["vip"]
    assert names(ruleset, mention("hi", handle="bigcustomer", platform="mastodon")) == []
    assert names(ruleset, mention("hi", handle="ceo_jane", platform="reddit")) == ["vip"]
    assert names(ruleset, mention("hi", influence=85)) == ["influencer"]
    assert names(ruleset, mention("hi", influence=85, platform="reddit")) == []


def test_crm_amount_and_stage(ruleset) -> None:
    won = Subject(
        kind="crm",
        text="",
        platform="crm",
        source="hubspot",
        crm_event="deal_stage_changed",
        amount=12000,
        stage="Closed Won",
    )
    assert names(ruleset, won) == ["big deal won"]
    small = Subject(
        kind="crm",
        text="",
        platform="crm",
        source="hubspot",
        crm_event="deal_stage_changed",
        amount=900,
        stage="closed won",
    )
    assert names(ruleset, small) == []


def test_unclaimed_rules_do_not_fire_at_ingest(ruleset) -> None:
    assert "stale" not in names(ruleset, mention("anything"))
    assert [r.name for r in ruleset.unclaimed_rules()] == ["stale"]


def test_routes_first_match_wins_continue_and_default(ruleset) -> None:
    config = ruleset.config
    path = route(config, {"team": "support"})
    assert path.channels == ("audit", "support")
    assert path.steps == (("everything is audited", True), ("exec", False), ("support", True))
    assert route(config, {"team": "care"}).channels == ("audit", "support")  # match_re
    assert route(config, {"team": "nobody"}).channels == ("audit",)


def test_decide_merges_rules_and_takes_the_highest_severity(ruleset) -> None:
    decision = decide(ruleset, mention("site down, ticket #12", handle="ceo_jane"))
    assert decision is not None
    assert decision.rules == ("outage", "ticket ref", "vip")
    assert decision.channels == ("audit", "support", "exec")
    assert decision.severity == "critical"
    assert decision.labels["rule"] == "outage" and decision.labels["team"] == "support"


def test_unmatched_event_goes_to_the_routes_with_builtin_labels(ruleset) -> None:
    decision = decide(ruleset, mention("lovely weather"))
    assert decision is not None and decision.rules == ()
    assert decision.channels == ("audit",)  # the catch-all with continue took it
    assert decision.labels == {
        "kind": "mention",
        "platform": "twitter",
        "source": "twitter",
        "sentiment": "neutral",
    }


def test_config_tests_report_pass_and_fail() -> None:
    text = (
        CONFIG
        + """
[[tests]]
name = "outage"
event = { type = "mention", text = "is it down?" }
expect = ["audit", "support"]

[[tests]]
name = "wrong"
event = { type = "crm", kind = "deal_stage_changed", amount = 50000, stage = "closed won" }
expect = ["audit"]

[[tests]]
event = { type = "mention", colour = "red" }
expect = []
"""
    )
    outcomes = run_config_tests(compile_rules(load_config_text(text)))
    assert [o.passed for o in outcomes] == [True, False, False]
    assert outcomes[1].got == ("audit", "sales")
    assert outcomes[2].error is not None and "unknown event keys ['colour']" in outcomes[2].error


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("", "empty query"),
        ("a OR", "query ends where a term was expected"),
        ("(a", "missing ')'"),
        ('"x', "unbalanced quote at character 1"),
        ("a )", "unexpected ')'"),
    ],
)
def test_query_errors(query: str, error: str) -> None:
    with pytest.raises(QueryError, match=error.replace("(", r"\(").replace(")", r"\)")):
        parse_query(query)


def test_matching_cost_does_not_depend_on_unrelated_rules() -> None:
    rules = "\n".join(f'[[rules]]\nname = "r{i}"\nkeywords = ["zz{i}"]\n' for i in range(2000))
    ruleset = compile_rules(
        load_config_text(rules + '[[rules]]\nname = "x"\nkeywords = ["down"]\n')
    )
    # only the rule whose term occurs is evaluated: the candidates come from the automaton
    assert [r.name for r in ruleset.matching(mention("it is down"))] == ["x"]
    assert ruleset.matcher.present("zz1999 and zz7") == {
        ruleset.matcher.ids["zz1999"],
        ruleset.matcher.ids["zz7"],
    }


def test_routes_on_builtin_labels_are_not_confused_by_the_cache() -> None:
    text = """
[alerts]
default_channel = "social"
[channels.social]
[channels.reddit]
[[rules]]
name = "down"
keywords = ["down"]
[[routes]]
match = { platform = "reddit", rule = "down" }
channel = "reddit"
"""
    ruleset = compile_rules(load_config_text(text))
    for _ in range(2):  # the second round is served from the cache
        on_reddit = decide(ruleset, mention("site down", platform="reddit"))
        on_twitter = decide(ruleset, mention("site down", platform="twitter"))
        assert on_reddit is not None and on_reddit.channels == ("reddit",)
        assert on_twitter is not None and on_twitter.channels == ("social",)
