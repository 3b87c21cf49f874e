"""Loading and checking the channel styles file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.nlg.channel_style import (
    DEFAULT_STYLES_PATH,
    STYLES_ENV_VAR,
    ChannelStyle,
    ChannelStyleError,
    ChannelStyles,
)
from common.errors import BotError, ConfigError


def _write(tmp_path: Path, text: str, name: str = "styles.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ bundled defaults


def test_bundled_file_loads_with_the_documented_defaults() -> None:
    styles = ChannelStyles.load(environ={})
    assert styles.source == str(DEFAULT_STYLES_PATH)
    assert set(styles) == {"default", "web", "slack", "telegram", "email", "rest"}

    slack, telegram = styles["slack"], styles["telegram"]
    assert (slack.format, slack.max_chars, slack.max_message_chars) == ("slack_mrkdwn", 350, 3000)
    assert (telegram.format, telegram.max_chars, telegram.max_message_chars) == (
        "telegram_html",
        350,
        4096,
    )
    for short in (slack, telegram):
        assert (short.tone, short.emoji) == ("friendly", "keep")

    web = styles["web"]
    assert (web.format, web.max_chars, web.tone) == ("markdown", 700, "friendly")

    email = styles["email"]
    assert email.format == "email"
    assert email.max_chars is None
    assert (email.tone, email.expand_contractions) == ("formal", True)
    assert email.greeting == "Hello {name},"
    assert email.greeting_no_name == "Hello,"
    assert email.sign_off == "Kind regards,\nThe Pinecrest team"

    for plain in ("rest", "default"):
        assert (styles[plain].format, styles[plain].max_chars) == ("plain", 700)


def test_channels_inherit_unset_keys_from_default() -> None:
    styles = ChannelStyles.load(environ={})
    assert styles["slack"].formal_substitutions == styles["default"].formal_substitutions
    assert ("thanks", "thank you") in styles["email"].formal_substitutions
    assert styles["email"].substitutions == styles["email"].formal_substitutions
    assert styles["web"].substitutions == styles["web"].friendly_substitutions


def test_unknown_channel_falls_back_to_default() -> None:
    styles = ChannelStyles.load(environ={})
    assert styles.for_channel("whatsapp") is styles["default"]
    assert styles.for_channel(" Slack ") is styles["slack"]


def test_without_a_default_entry_the_built_in_defaults_apply() -> None:
    styles = ChannelStyles.from_mapping({"web": {"format": "markdown"}})
    assert styles.for_channel("sms") == ChannelStyle()
    assert styles["web"] == ChannelStyle(name="web", format="markdown")


def test_styles_are_read_only() -> None:
    styles = ChannelStyles.load(environ={})
    with pytest.raises(TypeError):
        styles["web"] = ChannelStyle()  # type: ignore[index]
    with pytest.raises(AttributeError):
        styles["web"].max_chars = 1  # type: ignore[misc]
    assert len(styles) == 6
    assert "ChannelStyles(['default'" in repr(styles)


# ----------------------------------------------------------------- where it is read


def test_env_var_overrides_the_bundled_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "default:\n  format: markdown\n  max_chars: 99\n")
    styles = ChannelStyles.load(environ={STYLES_ENV_VAR: str(path)})
    assert styles.source == str(path)
    assert list(styles) == ["default"]
    assert styles.for_channel("slack").max_chars == 99


def test_env_var_from_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "default:\n  tone: formal\n")
    monkeypatch.setenv(STYLES_ENV_VAR, str(path))
    assert ChannelStyles.load().for_channel("web").tone == "formal"


def test_explicit_path_wins_over_the_env_var(tmp_path: Path) -> None:
    env_file = _write(tmp_path, "default:\n  max_chars: 1\n", "env.yml")
    explicit = _write(tmp_path, "default:\n  max_chars: 2\n", "explicit.yml")
    styles = ChannelStyles.load(explicit, environ={STYLES_ENV_VAR: str(env_file)})
    assert styles["default"].max_chars == 2


def test_env_var_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(ChannelStyleError) as info:
        ChannelStyles.load(environ={STYLES_ENV_VAR: str(missing)})
    assert str(info.value) == f"{missing}: {STYLES_ENV_VAR} names a file that does not exist"


def test_blank_env_var_means_the_bundled_file() -> None:
    assert ChannelStyles.load(environ={STYLES_ENV_VAR: "  "}).source == str(DEFAULT_STYLES_PATH)


def test_missing_file_invalid_yaml_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ChannelStyleError, match=r"nope\.yml: cannot read the file"):
        ChannelStyles.from_yaml(tmp_path / "nope.yml")
    with pytest.raises(ChannelStyleError, match="not valid YAML"):
        ChannelStyles.from_yaml(_write(tmp_path, "web: [unclosed\n"))
    with pytest.raises(ChannelStyleError, match="the file is empty"):
        ChannelStyles.from_yaml(_write(tmp_path, "# nothing\n"))


# ------------------------------------------------------------------------ validation


def _error(data: Any) -> str:
    with pytest.raises(ChannelStyleError) as info:
        ChannelStyles.from_mapping(data, source="styles.yml")
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, BotError)
    return str(info.value)


def test_unknown_key_names_channel_key_and_suggestion() -> None:
    message = _error({"slack": {"max_char": 10}})
    assert message.startswith(
        "styles.yml: channel 'slack', key 'max_char': unknown key (did you mean 'max_chars'?); "
        "known keys: format, max_chars,"
    )


def test_unknown_key_without_a_close_match() -> None:
    message = _error({"web": {"colour": "blue"}})
    assert message.startswith("styles.yml: channel 'web', key 'colour': unknown key; known keys:")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"format": "html"}, "key 'format': expected one of plain, markdown, slack_mrkdwn, "),
        ({"tone": "casual"}, "key 'tone': expected one of friendly, formal, got 'casual'"),
        ({"emoji": False}, "key 'emoji': expected one of keep, strip, got False"),
        ({"max_chars": 0}, "key 'max_chars': expected a positive whole number or null, got 0"),
        ({"max_chars": "350"}, "key 'max_chars': expected a positive whole number or null"),
        ({"max_messages": True}, "key 'max_messages': expected a positive whole number or null"),
        ({"max_message_chars": 2.5}, "key 'max_message_chars': expected a positive whole"),
        ({"expand_contractions": "yes"}, "key 'expand_contractions': expected true or false"),
        ({"greeting": ""}, "key 'greeting': expected a non-empty string or null, got ''"),
        ({"greeting": "Hi {first_name},"}, "unknown placeholder {first_name} (only {name}"),
        ({"sign_off": "Bye {name}"}, "key 'sign_off': unknown placeholder {name} (it takes no"),
        ({"formal_substitutions": ["hi"]}, "key 'formal_substitutions': expected a mapping"),
        ({"friendly_substitutions": {"hi": 3}}, "expected text for both sides, got 'hi': 3"),
        ({"friendly_substitutions": {" ": "x"}}, "expected pairs of non-empty strings"),
    ],
)
def test_bad_values_name_the_channel_and_key(settings: dict[str, Any], expected: str) -> None:
    message = _error({"default": {}, "telegram": settings})
    assert message.startswith("styles.yml: channel 'telegram', key '")
    assert expected in message


def test_email_cannot_be_split_into_messages() -> None:
    message = _error({"email": {"format": "email", "max_message_chars": 1000}})
    assert message.startswith(
        "styles.yml: channel 'email', key 'max_message_chars': an email is sent as one message"
    )


def test_email_may_reset_an_inherited_limit() -> None:
    styles = ChannelStyles.from_mapping(
        {
            "default": {"max_message_chars": 1000},
            "email": {"format": "email", "max_message_chars": None},
        }
    )
    assert styles["email"].max_message_chars is None


def test_errors_in_default_are_reported_for_default() -> None:
    assert _error({"default": {"tone": "loud"}}).startswith(
        "styles.yml: channel 'default', key 'tone'"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (["web"], "styles.yml: expected a mapping of channel names to settings, got list"),
        ({"Web": {}}, "styles.yml: invalid channel name 'Web'"),
        ({3: {}}, "styles.yml: invalid channel name 3"),
        ({"web": "markdown"}, "styles.yml: channel 'web': expected a mapping of settings, got str"),
    ],
)
def test_bad_structure(data: Any, expected: str) -> None:
    assert _error(data).startswith(expected)


def test_empty_channel_entry_inherits_everything() -> None:
    styles = ChannelStyles.from_mapping({"default": {"max_chars": 5}, "sms": None})
    assert styles["sms"] == ChannelStyle(name="sms", max_chars=5)


def test_yaml_errors_come_from_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "default:\n  max_chars: lots\n")
    with pytest.raises(ChannelStyleError) as info:
        ChannelStyles.from_yaml(path)
    assert str(info.value) == (
        f"{path}: channel 'default', key 'max_chars': "
        "expected a positive whole number or null, got 'lots'"
    )
    assert (info.value.channel, info.value.key) == ("default", "max_chars")


def test_styles_built_in_code_are_checked_too() -> None:
    with pytest.raises(ChannelStyleError, match="channel 'x', key 'tone'"):
        ChannelStyle(name="x", tone="rude")  # type: ignore[arg-type]
    with pytest.raises(ChannelStyleError, match="key 'max_messages'"):
        ChannelStyle(format="email", max_messages=2)


# -------------------------------------------------------------------------- greeting


@pytest.mark.parametrize(
    ("greeting", "no_name", "name", "expected"),
    [
        ("Hello {name},", "Hello,", "Ana", "Hello Ana,"),
        ("Hello {name},", "Hello,", None, "Hello,"),
        ("Hello {name},", None, None, "Hello,"),
        ("Hello {name},", None, "  ", "Hello,"),
        ("Dear {name}, thanks", None, "", "Dear, thanks"),
        ("{name}, hello", None, None, "hello"),
        ("Hello {name},", None, " Ana \n  Maria ", "Hello Ana Maria,"),
        ("Hello {name},", None, "\u202eAna\x00\u200dx", "Hello Ana\u200dx,"),
        ("Hi there,", None, "Ana", "Hi there,"),
    ],
)
def test_greeting_for(greeting: str, no_name: str | None, name: str | None, expected: str) -> None:
    style = ChannelStyle(greeting=greeting, greeting_no_name=no_name)
    assert style.greeting_for(name) == expected


def test_very_long_names_are_cut_and_no_greeting_means_none() -> None:
    style = ChannelStyle(greeting="Hello {name},")
    assert style.greeting_for("x" * 500) == "Hello " + "x" * 80 + ","
    assert ChannelStyle().greeting_for("Ana") is None


def test_channels_and_the_nlg_endpoint_share_one_styles_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.nlg.channel_style import configured_styles
    from bot.nlg.endpoint import ChannelAwareNLG, NLGSettings
    from channels.base import channel_styles

    path = _write(tmp_path, "default:\n  tone: formal\n")
    monkeypatch.setenv(STYLES_ENV_VAR, str(path))
    shared = channel_styles()
    assert shared is configured_styles() and shared.source == str(path)
    nlg = ChannelAwareNLG.__new__(ChannelAwareNLG)
    nlg.settings = NLGSettings()
    assert nlg.styles is shared
    other = _write(tmp_path, "default:\n  tone: friendly\n", "other.yml")
    assert configured_styles(other) is not shared
    assert configured_styles(other).for_channel("web").tone == "friendly"
