"""adapt_reply end to end on every channel, and channel_from."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import pytest

from bot.nlg.adapter import AdaptedReply, adapt_reply, channel_from
from bot.nlg.channel_style import ChannelStyle, ChannelStyles
from bot.nlg.length import message_length


@pytest.fixture(scope="module")
def styles() -> ChannelStyles:
    return ChannelStyles.load(environ={})


REPLY = (
    "Hi! Thanks for waiting! \U0001f389 Your order **#123** ships _tomorrow_. "
    "Don't worry, we'll send the [tracking link](https://pinecrest.example/t?id=1&x=2) ASAP.\n\n"
    "- Free returns for 30 days\n"
    "- Questions? Reply here"
)


# ---------------------------------------------------------------------- every channel


def test_web_gets_light_markdown(styles: ChannelStyles) -> None:
    reply = adapt_reply(REPLY, "web", styles)
    assert reply == AdaptedReply(
        channel="web",
        format="markdown",
        messages=(
            "Hi! Thanks for waiting! \U0001f389 Your order **#123** ships _tomorrow_. "
            "Don't worry, we'll send the [tracking link](https://pinecrest.example/t?id=1&x=2) "
            "ASAP.\n\n- Free returns for 30 days\n- Questions? Reply here",
        ),
        text=(
            "Hi! Thanks for waiting! \U0001f389 Your order #123 ships tomorrow. "
            "Don't worry, we'll send the tracking link (https://pinecrest.example/t?id=1&x=2) "
            "ASAP.\n\n- Free returns for 30 days\n- Questions? Reply here"
        ),
    )


def test_slack_gets_mrkdwn(styles: ChannelStyles) -> None:
    reply = adapt_reply(REPLY, "slack", styles)
    assert reply.format == "slack_mrkdwn"
    assert reply.messages == (
        "Hi! Thanks for waiting! \U0001f389 Your order *#123* ships _tomorrow_. "
        "Don't worry, we'll send the <https://pinecrest.example/t?id=1&amp;x=2|tracking link> "
        "ASAP.\n\n\u2022 Free returns for 30 days\n\u2022 Questions? Reply here",
    )
    assert reply.html is None
    assert reply.shortened is False


def test_telegram_gets_html(styles: ChannelStyles) -> None:
    reply = adapt_reply(REPLY, "telegram", styles)
    assert reply.format == "telegram_html"
    assert reply.messages == (
        "Hi! Thanks for waiting! \U0001f389 Your order <b>#123</b> ships <i>tomorrow</i>. "
        "Don't worry, we'll send the "
        '<a href="https://pinecrest.example/t?id=1&amp;x=2">tracking link</a> '
        "ASAP.\n\n\u2022 Free returns for 30 days\n\u2022 Questions? Reply here",
    )


EMAIL_TEXT = (
    "Hello! Thank you for waiting! Your order #123 ships tomorrow. "
    "Do not worry, we will send the tracking link (https://pinecrest.example/t?id=1&x=2) "
    "as soon as possible.\n\n- Free returns for 30 days\n- Questions? Reply here\n\n"
    "Kind regards,\nThe Pinecrest team"
)


def test_email_is_formal_complete_and_greets_by_name(styles: ChannelStyles) -> None:
    reply = adapt_reply(REPLY, "email", styles, customer_name="Ana")
    assert reply.format == "email"
    assert reply.text == "Hello Ana,\n\n" + EMAIL_TEXT
    assert reply.messages == (reply.text,)
    assert reply.html == (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "</head>\n"
        "<body>\n"
        "<p>Hello Ana,</p>\n"
        "<p>Hello! Thank you for waiting! Your order <strong>#123</strong> ships "
        "<em>tomorrow</em>. Do not worry, we will send the "
        '<a href="https://pinecrest.example/t?id=1&amp;x=2">tracking link</a> '
        "as soon as possible.</p>\n"
        "<ul>\n<li>Free returns for 30 days</li>\n<li>Questions? Reply here</li>\n</ul>\n"
        "<p>Kind regards,<br>\nThe Pinecrest team</p>\n"
        "</body>\n"
        "</html>\n"
    )


def test_email_without_a_name_says_hello(styles: ChannelStyles) -> None:
    reply = adapt_reply(REPLY, "email", styles)
    assert reply.text == "Hello,\n\n" + EMAIL_TEXT
    assert reply.html is not None
    assert "<p>Hello,</p>" in reply.html


def test_email_name_is_text_not_markup(styles: ChannelStyles) -> None:
    reply = adapt_reply("Thanks.", "email", styles, customer_name="<b>Eve</b> **x** \U0001f600")
    assert reply.text.startswith("Hello <b>Eve</b> **x**,\n\n")
    assert reply.html is not None
    assert "<p>Hello &lt;b&gt;Eve&lt;/b&gt; **x**,</p>" in reply.html


@pytest.mark.parametrize("channel", ["rest", "default", "whatsapp", "DEFAULT"])
def test_rest_default_and_unknown_channels_get_plain_text(
    styles: ChannelStyles, channel: str
) -> None:
    reply = adapt_reply(REPLY, channel, styles)
    assert reply.channel == channel
    assert reply.format == "plain"
    assert reply.messages == (
        "Hi! Thanks for waiting! \U0001f389 Your order #123 ships tomorrow. "
        "Don't worry, we'll send the tracking link (https://pinecrest.example/t?id=1&x=2) "
        "ASAP.\n\n- Free returns for 30 days\n- Questions? Reply here",
    )


@pytest.mark.parametrize("channel", ["web", "slack", "telegram", "email", "rest", "default"])
def test_blank_reply_sends_nothing(styles: ChannelStyles, channel: str) -> None:
    reply = adapt_reply("  \n\n ", channel, styles, customer_name="Ana")
    assert reply.messages == ()
    assert (reply.text, reply.html, reply.shortened) == ("", None, False)


def test_reply_of_only_emoji_is_empty_where_emoji_are_stripped(styles: ChannelStyles) -> None:
    assert adapt_reply("\U0001f44d", "email", styles).messages == ()
    assert adapt_reply("\U0001f44d", "slack", styles).messages == ("\U0001f44d",)


# --------------------------------------------------------------------------- length

LONG = " ".join(f"Sentence number {i} says something useful." for i in range(40))


@pytest.mark.parametrize(
    ("channel", "budget"), [("slack", 350), ("telegram", 350), ("web", 700), ("rest", 700)]
)
def test_long_replies_are_shortened_to_whole_sentences(
    styles: ChannelStyles, channel: str, budget: int
) -> None:
    reply = adapt_reply(LONG, channel, styles)
    assert reply.shortened is True
    assert len(reply.messages) == 1
    assert len(reply.text) <= budget
    assert reply.text.endswith("says something useful.")
    assert LONG.startswith(reply.text)
    # Whole sentences only: the next sentence would not have fitted.
    sentences = re.split(r"(?<=\.) ", LONG)
    kept = reply.text.count("Sentence number")
    assert reply.text == " ".join(sentences[:kept])
    assert len(" ".join(sentences[: kept + 1])) > budget


def test_email_is_never_shortened(styles: ChannelStyles) -> None:
    reply = adapt_reply(LONG, "email", styles)
    assert reply.shortened is False
    assert "Sentence number 39 says something useful." in reply.text


def test_short_replies_are_not_marked_shortened(styles: ChannelStyles) -> None:
    reply = adapt_reply("Short and sweet.", "slack", styles)
    assert (reply.messages, reply.shortened) == (("Short and sweet.",), False)


def _styles(**settings: Any) -> ChannelStyles:
    return ChannelStyles({"x": ChannelStyle(name="x", **settings)})


def test_telegram_limit_splits_into_balanced_messages() -> None:
    styles = _styles(format="telegram_html", max_message_chars=4096)
    step = "**Step {i}**: open [the page](https://x.example/{i})."
    paragraph = " ".join(step.format(i=i) for i in range(70))
    reply = adapt_reply("\n\n".join([paragraph] * 4), "x", styles)
    assert len(reply.messages) > 2
    for message in reply.messages:
        assert message_length(message) <= 4096
        assert message.count("<b>") == message.count("</b>")
        assert message.count("<a href=") == message.count("</a>")
    assert reply.shortened is False


def test_max_messages_drops_the_rest_and_logs_ids_only(caplog: pytest.LogCaptureFixture) -> None:
    styles = _styles(format="plain", max_message_chars=20, max_messages=2)
    secret = "Secret words here. More secret words. Even more."
    with caplog.at_level(logging.DEBUG, logger="bot.nlg"):
        reply = adapt_reply(secret, "x", styles, customer_name="Private Name")
    assert reply.messages == ("Secret words here.", "More secret words.")
    assert reply.shortened is True
    assert "channel x needs 3 messages; sending the first 2" in caplog.text
    assert "ecret" not in caplog.text
    assert "Private" not in caplog.text


# ------------------------------------------------------------------------ tone, emoji


def test_emoji_policy() -> None:
    text = "Done \U0001f389! See you \U0001f44b\U0001f3fd"
    assert adapt_reply(text, "x", _styles(emoji="keep")).messages == (text,)
    assert adapt_reply(text, "x", _styles(emoji="strip")).messages == ("Done! See you",)


TABLES: Mapping[str, Any] = {
    "formal_substitutions": (("hi", "hello"), ("thanks", "thank you")),
    "friendly_substitutions": (("assist", "help"), ("purchase", "buy")),
}


def test_formal_and_friendly_wording() -> None:
    text = "Hi, thanks! We can't assist with that purchase, we're sorry."
    formal = _styles(tone="formal", expand_contractions=True, **TABLES)
    friendly = _styles(tone="friendly", expand_contractions=True, **TABLES)
    assert adapt_reply(text, "x", formal).messages == (
        "Hello, thank you! We cannot assist with that purchase, we are sorry.",
    )
    # Contractions are only expanded in a formal tone.
    assert adapt_reply(text, "x", friendly).messages == (
        "Hi, thanks! We can't help with that buy, we're sorry.",
    )


def test_tone_never_touches_urls_or_markup() -> None:
    styles = _styles(format="markdown", tone="formal", formal_substitutions=(("hi", "hello"),))
    text = "**Hi** [hi](https://hi.example/hi) https://x.example/hi hi@x.example hi"
    assert adapt_reply(text, "x", styles).messages == (
        "**Hello** [hello](https://hi.example/hi) https://x.example/hi hi@x.example hello",
    )


def test_greeting_and_sign_off_on_any_channel() -> None:
    styles = _styles(format="slack_mrkdwn", greeting="Hey {name}!", sign_off="- *Pinecrest*")
    reply = adapt_reply("Your order shipped.", "x", styles, customer_name="<@U1>")
    assert reply.messages == ("Hey &lt;@U1&gt;!\n\nYour order shipped.\n\n- \u2217Pinecrest\u2217",)


# ------------------------------------------------------------------ hostile characters

HOSTILE = (
    "<script>alert(1)</script> <!channel> <@U123> *bold?* _it?_ ~x~ "
    '"q" & <i>x</i> [<img src=x onerror=alert(1)>](javascript:alert(1))'
)


@pytest.mark.parametrize("channel", ["web", "slack", "telegram", "email"])
def test_hostile_text_is_inert_on_every_markup_channel(styles: ChannelStyles, channel: str) -> None:
    reply = adapt_reply(HOSTILE, channel, styles)
    rendered = list(reply.messages) + ([reply.html] if reply.html else [])
    for out in rendered if channel != "email" else [reply.html or ""]:
        assert "<script" not in out
        assert "<img" not in out
        assert "&lt;i&gt;x&lt;/i&gt;" in out
        assert "javascript:" not in out
        assert "&lt;script&gt;" in out


def test_hostile_text_on_slack_exactly(styles: ChannelStyles) -> None:
    reply = adapt_reply(HOSTILE, "slack", styles)
    assert reply.messages == (
        "&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt; &lt;@U123&gt; "
        "_bold?_ _it?_ \u223cx\u223c "
        '"q" &amp; &lt;i&gt;x&lt;/i&gt; &lt;img src=x onerror=alert(1)&gt;',
    )


def test_hostile_text_on_telegram_exactly(styles: ChannelStyles) -> None:
    reply = adapt_reply(HOSTILE, "telegram", styles)
    assert reply.messages == (
        "&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt; &lt;@U123&gt; "
        "<i>bold?</i> <i>it?</i> ~x~ "
        '"q" &amp; &lt;i&gt;x&lt;/i&gt; &lt;img src=x onerror=alert(1)&gt;',
    )


# ---------------------------------------------------------------------- channel_from


@pytest.mark.parametrize(
    ("metadata", "output_channel", "expected"),
    [
        ({"channel": "slack"}, "rest", "slack"),
        ({"channel": " Telegram "}, None, "telegram"),
        ({"channel": "webchat"}, None, "web"),
        (None, "socketio", "web"),
        ({}, "webchat", "web"),
        (None, "slack", "slack"),
        (None, "telegram", "telegram"),
        (None, "email", "email"),
        (None, "rest", "rest"),
        (None, "collector", "rest"),
        (None, "callback", "rest"),
        ({"channel": "carrier-pigeon"}, "slack", "slack"),
        ({"channel": 42}, "telegram", "telegram"),
        ({"other": "slack"}, None, "default"),
        (None, "whatsapp", "default"),
        (None, None, "default"),
        ({"channel": ""}, "", "default"),
    ],
)
def test_channel_from(
    metadata: Mapping[str, Any] | None, output_channel: str | None, expected: str
) -> None:
    assert channel_from(metadata, output_channel) == expected


def test_channel_from_accepts_channels_the_styles_file_adds() -> None:
    assert channel_from({"channel": "WhatsApp"}, "rest", known=["whatsapp"]) == "whatsapp"
    assert channel_from(None, "whatsapp", known=["whatsapp"]) == "whatsapp"
