"""Tone functions: contractions, substitutions and emoji stripping."""

from __future__ import annotations

import pytest

from bot.nlg.tone import (
    EMOJI_SEQUENCE,
    Substitutions,
    expand_contractions,
    match_case,
    strip_emoji,
)

# ----------------------------------------------------------------------- match_case


@pytest.mark.parametrize(
    ("source", "replacement", "key", "expected"),
    [
        ("thanks", "thank you", "thanks", "thank you"),
        ("Thanks", "thank you", "thanks", "Thank you"),
        ("THANKS", "thank you", "thanks", "THANK YOU"),
        ("I'm", "I am", "", "I am"),
        ("i'm", "I am", "", "I am"),
        ("ASAP", "as soon as possible", "ASAP", "as soon as possible"),
        ("asap", "as soon as possible", "ASAP", "as soon as possible"),
    ],
)
def test_match_case(source: str, replacement: str, key: str, expected: str) -> None:
    assert match_case(source, replacement, key=key) == expected


# ------------------------------------------------------------------- contractions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm sure you're right.", "I am sure you are right."),
        ("Don't worry, we'll fix it.", "Do not worry, we will fix it."),
        ("DON'T PANIC", "DO NOT PANIC"),
        ("We can't and won't.", "We cannot and will not."),
        ("It's ready and it's been shipped.", "It is ready and it has been shipped."),
        ("You'd like it. You'd better hurry.", "You would like it. You had better hurry."),
        ("They\u2019ve said it isn\u2019t late.", "They have said it is not late."),
        ("Let's go!", "Let us go!"),
        (
            "Pinecrest's boots and the customer's order",
            "Pinecrest's boots and the customer's order",
        ),
        ("rock'n'roll and o'clock", "rock'n'roll and o'clock"),
    ],
)
def test_expand_contractions(text: str, expected: str) -> None:
    assert expand_contractions(text) == expected


def test_contraction_split_across_spans_is_left_alone() -> None:
    # "don" in one span and "'t" in the next: nothing to expand inside either.
    assert expand_contractions("don", "", "'") == "don"
    assert expand_contractions("I don't", "", "") == "I do not"


def test_contraction_reads_the_next_word_from_the_context() -> None:
    # "it's" at the end of a span whose next span starts with "been".
    assert expand_contractions("it's ", "", "b") == "it is "


# -------------------------------------------------------------------- substitutions


def test_substitutions_are_whole_word_and_keep_case() -> None:
    formal = Substitutions({"hi": "hello", "thanks": "thank you", "yeah": "yes"})
    assert formal("Hi Ana, thanks! HI. hi-five? Yeah, this: hit, chin, thanksgiving.") == (
        "Hello Ana, thank you! HELLO. hello-five? Yes, this: hit, chin, thanksgiving."
    )


def test_substitution_phrases_match_any_whitespace_and_longest_first() -> None:
    table = Substitutions([("in order", "sorted"), ("in order to", "to")])
    assert table("We did it in  order\nto help, all in order.") == (
        "We did it to help, all sorted."
    )


def test_acronym_keys_keep_the_replacement_as_written() -> None:
    table = Substitutions({"ASAP": "as soon as possible"})
    assert table("Reply ASAP or asap.") == "Reply as soon as possible or as soon as possible."


def test_substitutions_respect_word_boundaries_across_spans() -> None:
    table = Substitutions({"hi": "hello"})
    # "hi" followed by "t" in the next span is part of "hit".
    assert table("hi", "", "t") == "hi"
    assert table("hi", "", " ") == "hello"
    assert table("hi", "c", "") == "hi"


def test_empty_table_changes_nothing() -> None:
    assert Substitutions({})("Hi there") == "Hi there"
    assert Substitutions({"hi": "hello"}).table == (("hi", "hello"),)


# ---------------------------------------------------------------------------- emoji


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Great news \U0001f389!", "Great news!"),
        ("\U0001f389 Done", "Done"),
        ("Great \U0001f389 news", "Great news"),
        ("Hi \U0001f44b, Ana", "Hi, Ana"),
        ("Thanks! \U0001f389\U0001f389 \U0001f64f", "Thanks!"),
        ("a\U0001f600b", "ab"),
        ("line \U0001f600\nnext", "line\nnext"),
        # ZWJ sequences, skin tones, flags, keycaps, tag flags, VS16.
        ("dev \U0001f469\u200d\U0001f4bb here", "dev here"),
        ("family \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 ok", "family ok"),
        ("ok \U0001f44d\U0001f3fd ok", "ok ok"),
        ("in \U0001f1eb\U0001f1f7 and \U0001f1e9\U0001f1ea", "in and"),
        ("press 1\ufe0f\u20e3 now", "press now"),
        ("from \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f !", "from!"),
        ("love \u2764\ufe0f it", "love it"),
        ("rainbow \U0001f3f3\ufe0f\u200d\U0001f308 flag", "rainbow flag"),
        ("health \U0001f468\u200d\u2695\ufe0f worker", "health worker"),
        ("\u2764\ufe0f\u200d\U0001f525", ""),
        ("point \u261d\U0001f3fb up", "point up"),
    ],
)
def test_strip_emoji(text: str, expected: str) -> None:
    assert strip_emoji(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Pinecrest\u00ae and Trail\u2122 \u00a9 2024",  # text-style symbols without VS16
        "Привет, мир! Заказ №5 готов.",  # Cyrillic
        "你好，世界。订单已发货！",  # CJK with full-width punctuation
        "こんにちは、カタカナ〜",  # Japanese
        "مرحبا بالعالم، طلبك في الطريق",  # Arabic
        "می\u200cخواهم",  # Persian with ZWNJ
        "क्\u200dष and हिन्दी",  # Devanagari with ZWJ
        "שלום עולם",  # Hebrew
        "Ελληνικά, ñandú, façade, naïve",  # Latin and Greek with diacritics
        "Room #1, 100% * 2 = 200, 3 > 2",  # keycap bases alone
        "\u2192 \u2714 \u2605 \u2606 \u25aa arrows and marks",  # arrows, heavy check, stars
    ],
)
def test_strip_emoji_leaves_other_scripts_and_symbols_alone(text: str) -> None:
    assert strip_emoji(text) == text


def test_strip_emoji_uses_the_neighbouring_spans() -> None:
    # "Great 🎉 " then a bold "news": the space before the next span is kept once.
    assert strip_emoji("Great \U0001f389 ", "", "n") == "Great "
    # An emoji at the start of a span that follows text: no space is doubled.
    assert strip_emoji(" \U0001f389 done", "t", "") == " done"
    # A span that is only an emoji disappears.
    assert strip_emoji("\U0001f389", "a", "b") == ""


def test_emoji_sequence_matches_every_emoji_presentation_character() -> None:
    regex = pytest.importorskip("regex")
    presentation = regex.compile(r"\p{Emoji_Presentation}")
    missing = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if not 0xD800 <= code <= 0xDFFF
        and presentation.match(chr(code))
        and not EMOJI_SEQUENCE.fullmatch(chr(code))
    ]
    assert missing == []


def test_emoji_sequence_matches_text_default_pictographs_only_with_vs16() -> None:
    assert EMOJI_SEQUENCE.fullmatch("\u2764") is None
    assert EMOJI_SEQUENCE.fullmatch("\u2764\ufe0f") is not None
    assert EMOJI_SEQUENCE.fullmatch("\u00a9") is None
    assert EMOJI_SEQUENCE.fullmatch("\u00a9\ufe0f") is not None
