"""The light-Markdown parser and the renderers for every format."""

from __future__ import annotations

import pytest

from bot.nlg.markdown import (
    Bold,
    BulletList,
    Italic,
    Link,
    Paragraph,
    Text,
    find_bare_urls,
    find_literals,
    is_dangerous_url,
    map_text,
    parse,
    url_scheme,
    visible_text,
)
from bot.nlg.render import (
    html_document,
    render_html,
    render_markdown,
    render_plain,
    render_slack,
    render_telegram_html,
)

SCRIPT = "<script>alert(1)</script>"
ALL_RENDERERS = [render_plain, render_markdown, render_slack, render_telegram_html, render_html]
MARKUP_RENDERERS = [render_markdown, render_slack, render_telegram_html, render_html]

# ----------------------------------------------------------------------------- parser


def test_blank_text_has_no_blocks() -> None:
    assert parse("") == ()
    assert parse(" \n\n \t\n") == ()


def test_paragraphs_split_on_blank_lines_and_keep_line_breaks() -> None:
    assert parse("One.\nStill one.\n\n\nTwo.") == (
        Paragraph((Text("One.\nStill one."),)),
        Paragraph((Text("Two."),)),
    )


def test_windows_line_endings_are_normalised() -> None:
    assert parse("a\r\nb\r\n\r\nc") == (Paragraph((Text("a\nb"),)), Paragraph((Text("c"),)))


def test_bullet_list_interrupts_a_paragraph_and_ends_at_a_plain_line() -> None:
    assert parse("Options:\n- one\n* two\n+ three\n• four\nThanks!") == (
        Paragraph((Text("Options:"),)),
        BulletList(((Text("one"),), (Text("two"),), (Text("three"),), (Text("four"),))),
        Paragraph((Text("Thanks!"),)),
    )


def test_indented_line_continues_a_list_item() -> None:
    assert parse("- first\n  more of it\n- second") == (
        BulletList(((Text("first\nmore of it"),), (Text("second"),))),
    )


def test_heading_becomes_a_bold_paragraph_and_rules_separate() -> None:
    assert parse("## Returns ##\ntext\n---\nafter") == (
        Paragraph((Bold((Text("Returns"),)),)),
        Paragraph((Text("text"),)),
        Paragraph((Text("after"),)),
    )


def test_bold_and_italic_in_both_spellings() -> None:
    assert parse("**a** __b__ _c_ *d* ***e***") == (
        Paragraph(
            (
                Bold((Text("a"),)),
                Text(" "),
                Bold((Text("b"),)),
                Text(" "),
                Italic((Text("c"),)),
                Text(" "),
                Italic((Text("d"),)),
                Text(" "),
                Bold((Italic((Text("e"),)),)),
            )
        ),
    )


def test_nested_emphasis() -> None:
    assert parse("**a _b_ c** and *x **y** z*") == (
        Paragraph(
            (
                Bold((Text("a "), Italic((Text("b"),)), Text(" c"))),
                Text(" and "),
                Italic((Text("x "), Bold((Text("y"),)), Text(" z"))),
            )
        ),
    )


@pytest.mark.parametrize(
    "text",
    [
        "2 * 3 * 4 = 24",
        "snake_case_name and file__name__x",
        "a ** b ** c",
        "unclosed **bold and _italic",
        "5*3*2",
        "price_in_eur_",
    ],
)
def test_text_that_only_looks_like_emphasis_stays_text(text: str) -> None:
    assert parse(text) == (Paragraph((Text(text),)),)


def test_backslash_escapes_are_literal() -> None:
    assert parse(r"\*not bold\* and \[not a link\](x) and \\") == (
        Paragraph((Text("*not bold* and [not a link](x) and \\"),)),
    )


def test_links() -> None:
    assert parse(
        "See [our **FAQ**](https://x.example/faq) and [wiki](https://w.example/A_(b)) "
        '[spaced](<https://x.example/a b> "title") [](https://x.example/e)'
    ) == (
        Paragraph(
            (
                Text("See "),
                Link((Text("our "), Bold((Text("FAQ"),))), "https://x.example/faq"),
                Text(" and "),
                Link((Text("wiki"),), "https://w.example/A_(b)"),
                Text(" "),
                Link((Text("spaced"),), "https://x.example/a b"),
                Text(" "),
                Link((Text("https://x.example/e"),), "https://x.example/e"),
            )
        ),
    )


@pytest.mark.parametrize("text", ["[a] (https://x.example)", "[a](", "[a]()", "[a](b c)", "[a"])
def test_things_that_are_not_links(text: str) -> None:
    assert parse(text) == (Paragraph((Text(text),)),)


def test_links_do_not_nest() -> None:
    assert parse("[a [b](u) c](v)") == (Paragraph((Link((Text("a [b](u) c"),), "v"),)),)


def test_bare_urls_are_never_read_as_markup() -> None:
    text = "Go to https://x.example/_a_b_/*c* now"
    assert parse(text) == (Paragraph((Text(text),)),)


def test_find_bare_urls_leaves_trailing_punctuation_out() -> None:
    text = "See https://x.example/a. Or (www.y.example/b) or mailto:help@x.example, or http://"
    found = [text[a:b] for a, b in find_bare_urls(text)]
    assert found == ["https://x.example/a", "www.y.example/b", "mailto:help@x.example"]
    wiki = "https://w.example/A_(b)"
    assert [wiki[a:b] for a, b in find_bare_urls(wiki)] == [wiki]


def test_find_literals_finds_urls_and_email_addresses() -> None:
    text = "Mail first_last@x.example or https://x.example/a_b?to=me@x.example, not a@b."
    found = [text[a:b] for a, b in find_literals(text)]
    assert found == ["first_last@x.example", "https://x.example/a_b?to=me@x.example"]


def test_email_addresses_keep_their_characters_in_markdown_and_slack() -> None:
    blocks = parse("Mail _support@x.example or *me*")
    assert render_markdown(blocks) == "Mail _support@x.example or _me_"
    assert render_slack(blocks) == "Mail _support@x.example or _me_"


@pytest.mark.parametrize(
    ("url", "scheme", "dangerous"),
    [
        ("https://x.example", "https", False),
        ("MAILTO:a@b.example", "mailto", False),
        ("javascript:alert(1)", "javascript", True),
        ("JaVa\tScRiPt:alert(1)", "javascript", True),
        (" data:text/html,x", "data", True),
        ("/relative/path", None, False),
        ("www.x.example", None, False),
    ],
)
def test_url_scheme(url: str, scheme: str | None, dangerous: bool) -> None:
    assert url_scheme(url) == scheme
    assert is_dangerous_url(url) is dangerous


def test_visible_text_counts_link_text_and_bullets() -> None:
    blocks = parse("Hi **there**, see [the FAQ](https://x.example/faq).\n\n- a\n- b")
    assert visible_text(blocks) == "Hi there, see the FAQ.\n\n- a\n- b"


def test_map_text_passes_neighbouring_characters_and_prunes_empty_spans() -> None:
    seen: list[tuple[str, str, str]] = []

    def record(text: str, before: str, after: str) -> str:
        seen.append((text, before, after))
        return "" if text == "drop" else text.upper()

    blocks = parse("ab **cd** [ef](https://x.example)\n\n**drop**\n\n- drop\n- gh")
    assert map_text(blocks, record) == (
        Paragraph(
            (
                Text("AB "),
                Bold((Text("CD"),)),
                Text(" "),
                Link((Text("EF"),), "https://x.example"),
            )
        ),
        BulletList(((Text("GH"),),)),
    )
    assert seen[:4] == [("ab ", "", "c"), ("cd", " ", " "), (" ", "d", "e"), ("ef", " ", "")]


def test_map_text_keeps_a_link_whose_text_became_empty_as_its_url() -> None:
    blocks = parse("[x](https://x.example) ok")
    result = map_text(blocks, lambda t, b, a: "" if t == "x" else t)
    assert result == (
        Paragraph((Link((Text("https://x.example"),), "https://x.example"), Text(" ok"))),
    )


# -------------------------------------------------------------------------- renderers

SAMPLE = (
    "Hi **Ana**, your _order_ ships today.\n"
    "Track it [here](https://x.example/t?a=1&b=2).\n\n"
    "- Free returns\n- Help: [email us](mailto:help@x.example)"
)


def test_render_plain() -> None:
    assert render_plain(parse(SAMPLE)) == (
        "Hi Ana, your order ships today.\n"
        "Track it here (https://x.example/t?a=1&b=2).\n\n"
        "- Free returns\n- Help: email us (help@x.example)"
    )


def test_render_markdown() -> None:
    assert render_markdown(parse(SAMPLE)) == (
        "Hi **Ana**, your _order_ ships today.\n"
        "Track it [here](https://x.example/t?a=1&b=2).\n\n"
        "- Free returns\n- Help: [email us](mailto:help@x.example)"
    )


def test_render_slack() -> None:
    assert render_slack(parse(SAMPLE)) == (
        "Hi *Ana*, your _order_ ships today.\n"
        "Track it <https://x.example/t?a=1&amp;b=2|here>.\n\n"
        "\u2022 Free returns\n\u2022 Help: <mailto:help@x.example|email us>"
    )


def test_render_telegram_html() -> None:
    assert render_telegram_html(parse(SAMPLE)) == (
        "Hi <b>Ana</b>, your <i>order</i> ships today.\n"
        'Track it <a href="https://x.example/t?a=1&amp;b=2">here</a>.\n\n'
        '\u2022 Free returns\n\u2022 Help: <a href="mailto:help@x.example">email us</a>'
    )


def test_render_html() -> None:
    assert render_html(parse(SAMPLE)) == (
        "<p>Hi <strong>Ana</strong>, your <em>order</em> ships today.<br>\n"
        'Track it <a href="https://x.example/t?a=1&amp;b=2">here</a>.</p>\n'
        "<ul>\n<li>Free returns</li>\n"
        '<li>Help: <a href="mailto:help@x.example">email us</a></li>\n</ul>'
    )


def test_html_document_is_complete() -> None:
    assert html_document("<p>x</p>") == (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "</head>\n"
        "<body>\n<p>x</p>\n</body>\n</html>\n"
    )
    assert '<html lang="x&quot;&gt;">' in html_document("", lang='x">')


def test_list_item_line_breaks_are_indented() -> None:
    blocks = parse("- one\n  two")
    assert render_plain(blocks) == "- one\n  two"
    assert render_slack(blocks) == "\u2022 one\n  two"
    assert render_html(blocks) == "<ul>\n<li>one<br>\ntwo</li>\n</ul>"


@pytest.mark.parametrize("render", ALL_RENDERERS)
def test_every_renderer_handles_an_empty_reply(render: object) -> None:
    assert callable(render)
    assert render(()) == ""


# ------------------------------------------------------------------ hostile characters


@pytest.mark.parametrize("render", MARKUP_RENDERERS)
def test_script_tags_are_inert_in_every_markup_format(render: object) -> None:
    assert callable(render)
    text = f"{SCRIPT}\n\n- **{SCRIPT}**\n\n[{SCRIPT}](https://x.example/?q=<script>)"
    out = render(parse(text))
    assert "<script" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_plain_text_keeps_script_text_as_text() -> None:
    assert render_plain(parse(SCRIPT)) == SCRIPT


def test_markdown_escapes_html_and_markdown_characters() -> None:
    text = r"<b>hi</b> & a \*star\* [x\] `code` ~tilde \_under\_ snake_case # not"
    assert render_markdown(parse(text)) == (
        r"&lt;b&gt;hi&lt;/b&gt; &amp; a \*star\* \[x\] \`code\` \~tilde \_under\_ "
        r"snake_case # not"
    )


def test_markdown_escapes_line_starts_that_would_become_blocks() -> None:
    assert render_markdown(parse(r"\# not a heading" + "\n" + r"\- not a list")) == (
        "\\# not a heading\n\\- not a list"
    )


def test_markdown_passes_numbered_lines_and_line_breaks_through() -> None:
    assert render_markdown(parse("Steps:\n1. one\n2) two")) == "Steps:\n1. one\n2) two"


def test_markdown_only_links_safe_schemes() -> None:
    blocks = parse(
        "[a](javascript:alert(1)) [b](ftp://x.example/f) [c](https://x.example/(1)) "
        "[e](tel:+15551234) [f](https://x.example/(1) d)"
    )
    assert render_markdown(blocks) == (
        "a b (ftp://x.example/f) [c](https://x.example/%281%29) [e](tel:+15551234) "
        r"\[f\](https://x.example/(1) d)"
    )


def test_markdown_link_url_cannot_break_out() -> None:
    out = render_markdown(parse("[x](<https://x.example/a b)c>)"))
    assert out == "[x](https://x.example/a%20b%29c)"


def test_slack_escapes_control_characters_and_mentions() -> None:
    text = "Hi <!channel> <@U123> <!here|here> & <#C1>"
    assert render_slack(parse(text)) == (
        "Hi &lt;!channel&gt; &lt;@U123&gt; &lt;!here|here&gt; &amp; &lt;#C1&gt;"
    )


def test_slack_neutralises_stray_formatting_characters() -> None:
    # Each of these was plain text in the reply (escaped or not emphasis), so none may
    # turn into Slack formatting; characters inside words are harmless and kept.
    text = r"\*bold\* \_it\_ ~strike~ `code` 2 * 3 snake_case a*b"
    assert render_slack(parse(text)) == (
        "\u2217bold\u2217 \uff3fit\uff3f \u223cstrike\u223c \u02cbcode\u02cb 2 \u2217 3 "
        "snake_case a*b"
    )


def test_slack_link_text_and_url_cannot_inject() -> None:
    blocks = parse("[<!here> *x*|y](https://x.example/a|b) [z](javascript:alert(1))")
    assert render_slack(blocks) == "<https://x.example/a%7Cb|&lt;!here&gt; x|y> z"


def test_slack_wraps_bare_urls_and_keeps_their_characters() -> None:
    assert render_slack(parse("See https://x.example/_a_/?q=1&r=2, or www.y.example/_b_")) == (
        "See <https://x.example/_a_/?q=1&amp;r=2>, or www.y.example/_b\uff3f"
    )


def test_slack_formats_each_line_of_multi_line_bold() -> None:
    assert render_slack(parse("**one\ntwo**")) == "*one*\n*two*"


def test_slack_keeps_spaces_outside_the_markers() -> None:
    blocks = (Paragraph((Text("a"), Bold((Text(" b "),)), Text("c"))),)
    assert render_slack(blocks) == "a *b* c"
    assert render_markdown(blocks) == "a **b** c"


def test_telegram_escapes_text_and_attribute_exactly() -> None:
    blocks = parse("""Say "hi" & <b>bye</b> [x](https://x.example/?a="1"&b='2')""")
    # Telegram needs &, < and > escaped in text (quotes may stay) and " in attributes.
    assert render_telegram_html(blocks) == (
        'Say "hi" &amp; &lt;b&gt;bye&lt;/b&gt; '
        """<a href="https://x.example/?a=&quot;1&quot;&amp;b='2'">x</a>"""
    )


def test_telegram_only_links_http_https_mailto_and_tg() -> None:
    blocks = parse(
        "[a](https://x.example) [b](tg://resolve?domain=pinecrest) [c](tel:+1555) "
        "[d](javascript:alert(1)) [e](mailto:a@x.example)"
    )
    assert render_telegram_html(blocks) == (
        '<a href="https://x.example">a</a> <a href="tg://resolve?domain=pinecrest">b</a> '
        'c (+1555) d <a href="mailto:a@x.example">e</a>'
    )


def test_html_escapes_text_and_attributes() -> None:
    blocks = parse("""a "q" 'r' & <i> [x](https://x.example/?a="1"'2) [y](data:text/html,x)""")
    assert render_html(blocks) == (
        """<p>a "q" 'r' &amp; &lt;i&gt; <a href="https://x.example/?a=&quot;1&quot;'2">x</a> """
        "y</p>"
    )


def test_plain_drops_dangerous_urls_and_simplifies_mailto_and_tel() -> None:
    blocks = parse(
        "[a](javascript:alert(1)) [b](tel:+1555) [help@x.example](mailto:help@x.example) "
        "[https://x.example](https://x.example)"
    )
    assert render_plain(blocks) == "a b (+1555) help@x.example https://x.example"
