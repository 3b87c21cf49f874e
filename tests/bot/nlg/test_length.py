"""The soft reading budget and splitting into messages under a hard limit."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from bot.nlg.length import message_length, sentence_boundaries, shorten, split
from bot.nlg.markdown import Paragraph, Text, parse, visible_text
from bot.nlg.render import render_markdown, render_plain, render_slack, render_telegram_html

# --------------------------------------------------------------------------- helpers


class _TagChecker(HTMLParser):
    """Checks that Telegram HTML has only allowed tags, each closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("b", "i", "a"):
            self.errors.append(f"unexpected <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _check_telegram(message: str) -> str:
    checker = _TagChecker()
    checker.feed(message)
    checker.close()
    assert checker.errors == []
    assert checker.stack == [], f"unclosed tags {checker.stack}"
    return "".join(checker.text)


def _words(text: str) -> list[str]:
    return text.replace("\u2022", " ").split()


# ------------------------------------------------------------------ sentence bounds


@pytest.mark.parametrize(
    ("text", "cuts"),
    [
        ("Hello there. How are you? Fine!", [13, 26]),
        ("See e.g. the FAQ. Dr. Smith will call. Order No. 5 is here.", [18, 39]),
        ("J. Smith called. Bye.", [17]),
        ('He said "yes." Then left.', [15]),
        ("Wait... What? Ok\u2026 Sure", [8, 14, 18]),
        ("\u4f60\u597d\u3002\u8c22\u8c22\uff01\u518d\u89c1", [3, 6]),
        ("line one\nline two", [9]),
        ("Version 3.5 is out. It costs $4.99 now.", [20]),
        ("No boundary at the end.", []),
    ],
)
def test_sentence_boundaries(text: str, cuts: list[int]) -> None:
    assert sentence_boundaries(text) == cuts


def test_message_length_counts_utf16_code_units() -> None:
    assert message_length("abc") == 3
    assert message_length("\u00e9\u4f60") == 2
    assert message_length("\U0001f600") == 2
    assert message_length("\U0001f469\u200d\U0001f4bb") == 5


# --------------------------------------------------------------------------- shorten

THREE = "First sentence here. Second one is here. Third."


def test_shorten_keeps_whole_sentences_within_the_budget() -> None:
    blocks, shortened = shorten(parse(THREE), 40)
    assert shortened is True
    assert render_plain(blocks) == "First sentence here. Second one is here."


def test_shorten_keeps_a_reply_within_budget_untouched() -> None:
    blocks = parse(THREE)
    assert shorten(blocks, len(THREE)) == (blocks, False)
    assert shorten(blocks, None) == (blocks, False)


def test_shorten_always_keeps_the_first_sentence() -> None:
    blocks, shortened = shorten(parse(THREE), 5)
    assert shortened is True
    assert render_plain(blocks) == "First sentence here."


def test_shorten_single_long_sentence_is_kept_whole() -> None:
    text = "A single sentence that is much longer than the budget allows"
    assert shorten(parse(text), 10) == (parse(text), False)


def test_shorten_drops_whole_blocks_then_items_then_sentences() -> None:
    text = "Intro line.\n\n- Item one. More one.\n- Item two.\n\nOutro."
    # "Intro line." (11) + 2 + "- Item one." (11) = 24 fits, " More one." does not.
    blocks, _ = shorten(parse(text), 30)
    assert render_plain(blocks) == "Intro line.\n\n- Item one."
    blocks, _ = shorten(parse(text), 48)
    assert render_plain(blocks) == "Intro line.\n\n- Item one. More one.\n- Item two."
    blocks, _ = shorten(parse(text), 12)
    assert render_plain(blocks) == "Intro line."


def test_shorten_never_cuts_inside_a_link() -> None:
    text = "Read [the guide. It is long. Really](https://x.example/g) now. Bye then."
    blocks, _ = shorten(parse(text), 45)
    assert render_markdown(blocks) == (
        "Read [the guide. It is long. Really](https://x.example/g) now."
    )
    # Nothing shorter than the sentence around the link is possible: it is kept whole.
    blocks, _ = shorten(parse(text), 20)
    assert visible_text(blocks) == "Read the guide. It is long. Really now."


def test_shorten_closes_markup_at_the_cut() -> None:
    blocks, _ = shorten(parse("**Bold one. Bold two.** Tail."), 12)
    assert render_markdown(blocks) == "**Bold one.**"
    assert render_telegram_html(blocks) == "<b>Bold one.</b>"


def test_shorten_counts_visible_characters_not_urls() -> None:
    text = "See [here](https://x.example/a-very-long-path-that-is-not-shown). Bye."
    blocks, shortened = shorten(parse(text), len("See here. Bye."))
    assert (blocks, shortened) == (parse(text), False)


# ----------------------------------------------------------------------------- split


def test_split_without_limit_or_when_it_fits_gives_one_message() -> None:
    blocks = parse(THREE)
    assert split(blocks, render_plain, None) == [blocks]
    assert split(blocks, render_plain, 1000) == [blocks]
    assert split((), render_plain, 10) == []


def test_split_packs_paragraphs_then_sentences() -> None:
    blocks = parse("One one one.\n\nTwo two two. Three three.\n\nFour.")
    rendered = [render_plain(p) for p in split(blocks, render_plain, 26)]
    assert rendered == ["One one one.", "Two two two. Three three.", "Four."]
    rendered = [render_plain(p) for p in split(blocks, render_plain, 20)]
    assert rendered == ["One one one.", "Two two two.", "Three three.\n\nFour."]


def test_split_breaks_sentences_at_words_and_words_at_characters() -> None:
    blocks = parse("alpha beta gamma delta " + "x" * 12)
    rendered = [render_plain(p) for p in split(blocks, render_plain, 10)]
    assert rendered == ["alpha beta", "gamma", "delta", "xxxxxxxxxx", "xx"]


def test_split_keeps_markup_balanced_in_every_part() -> None:
    blocks = parse("**one two three four five six**")
    rendered = [render_telegram_html(p) for p in split(blocks, render_telegram_html, 20)]
    assert rendered == ["<b>one two three</b>", "<b>four five six</b>"]
    rendered = [render_slack(p) for p in split(blocks, render_slack, 12)]
    assert rendered == ["*one two*", "*three four*", "*five six*"]


def test_split_prefers_cuts_outside_links() -> None:
    blocks = parse("aaaa bbbb [cc dd](https://x.example) eeee")
    rendered = [render_plain(p) for p in split(blocks, render_plain, 28)]
    assert rendered == ["aaaa bbbb", "cc dd (https://x.example)", "eeee"]


def test_split_a_long_link_keeps_each_part_a_link() -> None:
    blocks = parse("[" + " ".join(["word"] * 10) + "](https://x.example)")
    parts = [render_telegram_html(p) for p in split(blocks, render_telegram_html, 60)]
    assert len(parts) > 1
    for part in parts:
        assert re.fullmatch(r'<a href="https://x\.example">[a-z ]+</a>', part), part
    assert " ".join(_check_telegram(p) for p in parts) == " ".join(["word"] * 10)


def test_split_lists_into_lists_and_long_items_into_paragraphs() -> None:
    blocks = parse("- one\n- two\n- three\n- " + "word " * 6)
    rendered = [render_plain(p) for p in split(blocks, render_plain, 16)]
    assert rendered == ["- one\n- two", "- three", "- word word word", "word word word"]


def test_split_counts_emoji_as_two_units() -> None:
    blocks = (Paragraph((Text("\U0001f600" * 3000),)),)
    parts = split(blocks, render_telegram_html, 4096)
    assert [len(render_telegram_html(p)) for p in parts] == [2048, 952]
    assert all(message_length(render_telegram_html(p)) <= 4096 for p in parts)


def _long_reply(paragraphs: int) -> str:
    sentence = (
        "Your **order {n}** from _Pinecrest_ is <on its way> & "
        '[tracked here](https://x.example/t?id={n}&k="v"). '
    )
    return "\n\n".join(
        "".join(sentence.format(n=f"{p}-{s}") for s in range(25)) for p in range(paragraphs)
    )


def test_split_at_the_telegram_limit_gives_balanced_parts_with_all_the_text() -> None:
    text = _long_reply(6)
    blocks = parse(text)
    full = render_telegram_html(blocks)
    assert message_length(full) > 3 * 4096
    parts = split(blocks, render_telegram_html, 4096)
    messages = [render_telegram_html(p) for p in parts]
    assert len(messages) >= 4
    seen: list[str] = []
    for message in messages:
        assert message_length(message) <= 4096
        assert message == message.strip()
        seen.append(_check_telegram(message))
    assert _words(" ".join(seen)) == _words(_check_telegram(full))
    assert "<on its way> &" in " ".join(seen)
    assert html.escape("<on its way> &", quote=False) in messages[0]


def test_split_one_huge_bold_paragraph_without_sentences() -> None:
    blocks = parse("**" + " ".join(f"w{i}" for i in range(3000)) + "**")
    messages = [render_telegram_html(p) for p in split(blocks, render_telegram_html, 4096)]
    assert len(messages) == 5
    for message in messages:
        assert message.startswith("<b>") and message.endswith("</b>")
        assert message_length(message) <= 4096
        _check_telegram(message)
    words = _words(" ".join(_check_telegram(m) for m in messages))
    assert words == [f"w{i}" for i in range(3000)]


def test_split_for_slack_respects_its_limit_and_escapes() -> None:
    text = " ".join(["<!channel> *x* & y."] * 400)
    messages = [render_slack(p) for p in split(parse(text), render_slack, 3000)]
    assert len(messages) > 1
    assert all(message_length(m) <= 3000 for m in messages)
    assert all("<!channel>" not in m for m in messages)


def test_split_gives_up_markup_only_for_a_single_character_that_cannot_fit() -> None:
    blocks = parse("[ab](https://x.example/a-long-url)")
    rendered = [render_telegram_html(p) for p in split(blocks, render_telegram_html, 10)]
    # Each character alone is too long as a link, so it is sent as text; the pieces
    # then fit together.
    assert rendered == ["a\n\nb"]
