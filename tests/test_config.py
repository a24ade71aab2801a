"""Config validation names the exact key (and line) of every problem."""

from __future__ import annotations

import pytest

from bot.config_loader import ConfigError, default_config_text, load_config, load_config_text

GOOD = """
[channels.support]
slack = "C0123"

[[rules]]
name = "outage"
keywords = ["down"]
labels = { team = "support" }

[[routes]]
match = { team = "support" }
channel = "support"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "crmbot.toml")
    return info.value.problems


def test_embedded_defaults_are_valid() -> None:
    config, origin = load_config(None)
    assert origin == "embedded defaults"
    assert config.alerts.default_channel == "social"
    assert load_config_text(default_config_text()).rules == config.rules


def test_unknown_channel_is_named_with_suggestion_and_line() -> None:
    assert problems(GOOD.replace('channel = "support"', 'channel = "suport"')) == [
        "routes[0].channel: unknown channel 'suport' (did you mean 'support'?) (line 12)"
    ]


def test_escalation_target_is_checked() -> None:
    text = (
        GOOD + '\n[[routes]]\nchannel = "support"\nescalate = { after = "15m", to = "pr-leads" }\n'
    )
    assert problems(text) == ["routes[1].escalate.to: unknown channel 'pr-leads' (line 16)"]


def test_unknown_key_is_an_error_not_ignored() -> None:
    text = GOOD.replace('keywords = ["down"]', 'keywords = ["down"]\nkeyword = "up"')
    assert problems(text) == ["rules[0].keyword: unknown key (did you mean 'keywords'?) (line 8)"]
    text = GOOD.replace('slack = "C0123"', 'slack = "C0123"\nmax_post_per_minute = 5')
    assert problems(text) == [
        "channels.support.max_post_per_minute: unknown key "
        "(did you mean 'max_posts_per_minute'?) (line 4)"
    ]
    assert problems("[alerts]\nbogus = 1\n") == ["alerts.bogus: unknown key (line 2)"]


def test_bad_duration_bad_type_bad_regex_bad_query() -> None:
    (problem,) = problems(GOOD + '\n[alerts]\nreopen_window = "soon"\n')
    assert problem.startswith("alerts.reopen_window: unparseable duration 'soon'")
    assert problem.endswith("(line 15)")
    (problem,) = problems(GOOD.replace('keywords = ["down"]', "keywords = 3"))
    assert problem.startswith("rules[0].keywords: Input should be a valid list")
    (problem,) = problems(GOOD.replace('keywords = ["down"]', 'regex = "ticket (#"'))
    assert problem.startswith("rules[0].regex: bad regex: missing ), unterminated subpattern")
    (problem,) = problems(GOOD.replace('keywords = ["down"]', "query = 'down OR'"))
    assert problem == "rules[0].query: bad query: query ends where a term was expected (line 7)"


def test_unreachable_route_after_catch_all() -> None:
    text = GOOD.replace('match = { team = "support" }\n', "") + (
        '\n[[routes]]\nmatch = { team = "sales" }\nchannel = "support"\n'
    )
    assert problems(text) == [
        "routes[1]: unreachable: routes[0] above it matches everything and has no "
        "'continue = true' (line 13)"
    ]
    # with continue = true the catch-all lets later routes see the alert
    assert load_config_text(
        text.replace('channel = "support"\n', 'channel = "support"\ncontinue = true\n', 1)
    )


def test_duplicate_rule_names_and_unknown_quiet_hours() -> None:
    text = GOOD + '\n[[rules]]\nname = "outage"\n'
    assert problems(text) == [
        "rules[1].name: duplicate rule name 'outage' (also rules[0]) (line 15)"
    ]
    text = GOOD.replace('channel = "support"', 'channel = "support"\nquiet_hours = ["nigths"]')
    text += '\n[[time_intervals]]\nname = "nights"\ntimes = [{ start = "18:00", end = "08:00" }]\n'
    assert problems(text) == [
        "routes[0].quiet_hours[0]: unknown time interval 'nigths' (did you mean 'nights'?) (line 13)"
    ]


def test_time_zone_and_weekday_are_checked() -> None:
    text = (
        GOOD
        + '\n[[time_intervals]]\nname = "n"\ntimezone = "Mars/Olympus"\nweekdays = ["funday"]\n'
    )
    assert problems(text) == [
        "time_intervals[0].timezone: unknown time zone 'Mars/Olympus' (use e.g. 'Europe/Berlin' or 'UTC') (line 16)",
        "time_intervals[0].weekdays: unknown weekday 'funday' (use e.g. 'monday:friday') (line 17)",
    ]


def test_invalid_toml_says_where() -> None:
    (problem,) = problems("[channels\n")
    assert problem.startswith("not valid TOML:") and "line 1" in problem


def test_missing_file_falls_back_to_defaults(tmp_path) -> None:
    _, origin = load_config(tmp_path / "absent.toml")
    assert origin == "embedded defaults"


FOUR_MISTAKES = """
[alerts]
default_channel = "social"
reopen_window = "soon"

[channels.social]
[channels.support]

[[rules]]
name = "outage"
keyword = ["down"]
labels = { team = "support" }

[[routes]]
match = { team = "support" }
channel = "suport"

[[routes]]
match = { team = "sales" }
channel = "social"
quiet_hours = ["nigths"]

[[time_intervals]]
name = "nights"
timezone = "Mars/Olympus"
"""


def test_every_mistake_is_reported_in_one_run() -> None:
    """Per-key mistakes do not hide cross-key ones: all four, with path and line."""
    found = problems(FOUR_MISTAKES)
    assert len(found) == 5, found
    assert found[0].startswith("alerts.reopen_window: unparseable duration 'soon'")
    assert found[0].endswith("(line 4)")
    assert found[1:] == [
        "rules[0].keyword: unknown key (did you mean 'keywords'?) (line 11)",
        "time_intervals[0].timezone: unknown time zone 'Mars/Olympus' "
        "(use e.g. 'Europe/Berlin' or 'UTC') (line 25)",
        "routes[0].channel: unknown channel 'suport' (did you mean 'support'?) (line 16)",
        "routes[1].quiet_hours[0]: unknown time interval 'nigths' (did you mean 'nights'?) "
        "(line 21)",
    ]


def test_cross_key_checks_keep_the_files_numbering_when_a_table_is_dropped() -> None:
    text = GOOD + (
        '\n[[routes]]\nmatch = { team = "x" }\n'  # no channel: this route cannot be checked
        '\n[[routes]]\nchannel = "nowhere"\n'
        '\n[[rules]]\nname = "r"\nsentiment_min = 0.5\nsentiment_max = 0.1\nseverity = "huge"\n'
    )
    assert problems(text) == [
        "rules[1].severity: Input should be 'low', 'normal', 'high' or 'critical' (line 24)",
        "routes[1].channel: Field required (line 14)",
        "rules[1]: sentiment_min is above sentiment_max (line 20)",
        "routes[2].channel: unknown channel 'nowhere' (line 18)",
    ]
