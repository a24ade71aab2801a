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
    text = GOOD + '\n[[rules]]\nname = "b"\nchannel = "suport"\n'
    assert problems(text) == [
        "rules[1].channel: unknown channel 'suport' (did you mean 'support'?) (line 12)"
    ]


def test_unknown_key_is_an_error_not_ignored() -> None:
    text = GOOD.replace('keywords = ["down"]', 'keywords = ["down"]\nkeyword = "up"')
    assert problems(text) == ["rules[0].keyword: unknown key (line 8)"]


def test_bad_duration_and_bad_type() -> None:
    text = GOOD + '\n[alerts]\nreopen_window = "soon"\n'
    (problem,) = problems(text)
    assert problem.startswith("alerts.reopen_window: unparseable duration 'soon'")
    assert problem.endswith("(line 11)")
    (problem,) = problems(GOOD.replace('keywords = ["down"]', "keywords = 3"))
    assert problem.startswith("rules[0].keywords: Input should be a valid list")


def test_duplicate_rule_names() -> None:
    text = GOOD + '\n[[rules]]\nname = "outage"\nchannel = "support"\n'
    assert problems(text) == [
        "rules[1].name: duplicate rule name 'outage' (also rules[0]) (line 11)"
    ]


def test_invalid_toml_says_where() -> None:
    (problem,) = problems("[channels\n")
    assert problem.startswith("not valid TOML:") and "line 1" in problem


def test_missing_file_falls_back_to_defaults(tmp_path) -> None:
    _, origin = load_config(tmp_path / "absent.toml")
    assert origin == "embedded defaults"
