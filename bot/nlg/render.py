"""Renderers from parsed replies (:mod:`bot.nlg.markdown`) to each channel's format.

Every renderer is a pure function ``Document -> str`` that escapes all text it did not
produce itself, so text from customers or from a language model cannot inject markup,
mentions or scripts. Markup is produced from the tree, so it is always balanced.

Links become clickable only for the schemes a format allows (see ``*_LINK_SCHEMES``).
Any other link is written as ``text (url)``, except for schemes that run code or read
local files (``javascript:``, ``data:`` …), whose URL is dropped and only the text kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from bot.nlg.markdown import (
    Bold,
    Document,
    Inline,
    Italic,
    Link,
    Paragraph,
    Text,
    find_literals,
    inline_text,
    is_dangerous_url,
    url_scheme,
)

__all__ = [
    "HTML_LINK_SCHEMES",
    "MARKDOWN_LINK_SCHEMES",
    "SLACK_LINK_SCHEMES",
    "SLACK_NEUTRALISED",
    "TELEGRAM_LINK_SCHEMES",
    "html_document",
    "render_html",
    "render_markdown",
    "render_plain",
    "render_slack",
    "render_telegram_html",
]

MARKDOWN_LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
HTML_LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
SLACK_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
TELEGRAM_LINK_SCHEMES = frozenset({"http", "https", "mailto", "tg"})

SLACK_NEUTRALISED: Mapping[str, str] = MappingProxyType(
    {"*": "\u2217", "_": "\uff3f", "~": "\u223c", "`": "\u02cb"}
)
"""Look-alikes that replace Slack's formatting characters in text.

Slack's mrkdwn has no escape for ``*``, ``_``, ``~`` and the backtick. A zero-width
space next to the character works or not depending on how Slack's client classifies
it, so instead each such character that could open or close formatting becomes a
look-alike that Slack never reads as markup: ∗ (asterisk operator), ＿ (fullwidth low
line), ∼ (tilde operator) and ˋ (modifier grave accent). ``*``, ``_`` and ``~``
between two letters or digits are kept, since Slack never formats inside a word
(``snake_case``), and URLs and e-mail addresses are kept as they are.
"""

_SLACK_MARKERS = re.compile(r"[*_~`]")
_MARKDOWN_SPECIAL = re.compile(r"[\\`*\[\]~_]")
_MARKDOWN_LINE_START = re.compile(r"(?m)^([ \t]*)([#+\-])(?=[ \t]|$)")

_Link = Callable[[Link], str]


def _plain_url(url: str) -> str:
    scheme = url_scheme(url)
    if scheme in ("mailto", "tel"):
        return url.split(":", 1)[1]
    return url


def _link_fallback(label: str, url: str) -> str:
    """``label (url)`` for a link a format cannot make clickable, as plain text."""
    if is_dangerous_url(url):
        return label
    shown = _plain_url(url)
    if label.strip() in (url, shown):
        return shown
    return f"{label} ({shown})"


def _split_edges(s: str) -> tuple[str, str, str]:
    core = s.strip()
    if not core:
        return s, "", ""
    start = s.index(core[0])
    return s[:start], core, s[start + len(core) :]


def _wrap(inner: str, open_: str, close: str, *, per_line: bool = False) -> str:
    """Wrap ``inner`` in delimiters, keeping whitespace at its edges outside them."""
    if per_line and "\n" in inner:
        return "\n".join(_wrap(line, open_, close) for line in inner.split("\n"))
    lead, core, trail = _split_edges(inner)
    if not core:
        return inner
    return f"{lead}{open_}{core}{close}{trail}"


def _indent_item(rendered: str, bullet: str) -> str:
    return bullet + rendered.replace("\n", "\n" + " " * len(bullet))


# ---------------------------------------------------------------------------- plain


def render_plain(blocks: Document) -> str:
    """Render as plain text: markup removed, links as ``text (url)``, ``- `` bullets.

    Args:
        blocks: A parsed reply.

    Returns:
        The text.

    """
    return _render_blocks(blocks, _plain_inlines, "- ")


def _plain_inlines(inlines: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    for node in inlines:
        if isinstance(node, Text):
            parts.append(node.text)
        elif isinstance(node, Link):
            parts.append(_link_fallback(_plain_inlines(node.children), node.url))
        else:
            parts.append(_plain_inlines(node.children))
    return "".join(parts)


def _render_blocks(
    blocks: Document, inlines: Callable[[tuple[Inline, ...]], str], bullet: str
) -> str:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            parts.append(inlines(block.inlines))
        else:
            parts.append("\n".join(_indent_item(inlines(item), bullet) for item in block.items))
    return "\n\n".join(parts)


# ------------------------------------------------------------------------- markdown


def render_markdown(blocks: Document) -> str:
    """Render as the light Markdown that the web chat displays.

    The supported subset passes through in a canonical form (``**bold**``,
    ``_italic_``, ``[text](url)``, ``- `` bullets). In text, ``&``, ``<`` and ``>``
    become HTML entities, so raw HTML such as ``<script>`` shows as text and never
    runs, and Markdown's special characters are backslash-escaped so that text reads
    as written. URLs and e-mail addresses written without markup are left as they
    are, so that the web chat can link them.

    Args:
        blocks: A parsed reply.

    Returns:
        Markdown text.

    """
    return _render_blocks(blocks, _markdown_inlines, "- ")


def _markdown_text(text: str) -> str:
    out: list[str] = []
    last = 0
    for start, end in find_literals(text):
        out.append(_markdown_escape(text[last:start], text, last))
        out.append(text[start:end])  # no < or > in it, so no HTML either
        last = end
    out.append(_markdown_escape(text[last:], text, last))
    escaped = "".join(out)
    return _MARKDOWN_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)


def _markdown_escape(segment: str, text: str, offset: int) -> str:
    def escape(match: re.Match[str]) -> str:
        char = match.group()
        at = offset + match.start()
        if char == "_" and 0 < at < len(text) - 1:
            if text[at - 1].isalnum() and text[at + 1].isalnum():
                return char
        return "\\" + char

    return _html_escape(_MARKDOWN_SPECIAL.sub(escape, segment))


def _markdown_url(url: str) -> str:
    for char, code in (("\\", "%5C"), (" ", "%20"), ("(", "%28"), (")", "%29")):
        url = url.replace(char, code)
    return url.replace("<", "%3C").replace(">", "%3E")


def _markdown_inlines(inlines: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    for node in inlines:
        if isinstance(node, Text):
            parts.append(_markdown_text(node.text))
        elif isinstance(node, Bold):
            parts.append(_wrap(_markdown_inlines(node.children), "**", "**"))
        elif isinstance(node, Italic):
            parts.append(_wrap(_markdown_inlines(node.children), "_", "_"))
        elif url_scheme(node.url) in MARKDOWN_LINK_SCHEMES:
            label = _markdown_inlines(node.children)
            parts.append(f"[{label}]({_markdown_url(node.url)})")
        else:
            parts.append(_markdown_text(_link_fallback(inline_text(node.children), node.url)))
    return "".join(parts)


# ---------------------------------------------------------------------------- slack


def render_slack(blocks: Document) -> str:
    """Render as Slack mrkdwn: ``*bold*``, ``_italic_``, ``<url|text>``, ``•`` bullets.

    ``&``, ``<`` and ``>`` are escaped as Slack requires, which also makes mentions
    such as ``<!channel>`` or ``<@U123>`` inert text. Stray formatting characters are
    replaced by look-alikes (see :data:`SLACK_NEUTRALISED`). URLs written without
    markup become explicit ``<url>`` links and e-mail addresses are left as they are,
    so that their characters stay intact.

    Args:
        blocks: A parsed reply.

    Returns:
        mrkdwn text for a message's ``text`` or a ``mrkdwn`` text object.

    """
    return _render_blocks(blocks, _slack_inlines, "\u2022 ")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_url(url: str) -> str:
    url = url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
    return url.replace("&", "&amp;")


def _slack_neutralise(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        at = match.start()
        inside_word = 0 < at < len(text) - 1 and text[at - 1].isalnum() and text[at + 1].isalnum()
        char = match.group()
        return char if inside_word and char != "`" else SLACK_NEUTRALISED[char]

    return _SLACK_MARKERS.sub(replace, text)


def _slack_text(text: str) -> str:
    out: list[str] = []
    last = 0
    for start, end in find_literals(text):
        url = text[start:end]
        out.append(_slack_escape(_slack_neutralise(text[last:start])))
        if url_scheme(url) in SLACK_LINK_SCHEMES:
            out.append(f"<{_slack_url(url)}>")
        else:
            out.append(_slack_escape(url))
        last = end
    out.append(_slack_escape(_slack_neutralise(text[last:])))
    return "".join(out)


def _slack_inlines(inlines: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    for node in inlines:
        if isinstance(node, Text):
            parts.append(_slack_text(node.text))
        elif isinstance(node, Bold):
            parts.append(_wrap(_slack_inlines(node.children), "*", "*", per_line=True))
        elif isinstance(node, Italic):
            parts.append(_wrap(_slack_inlines(node.children), "_", "_", per_line=True))
        else:
            label = " ".join(inline_text(node.children).split())
            if url_scheme(node.url) in SLACK_LINK_SCHEMES:
                escaped = _slack_escape(_slack_neutralise(label))
                parts.append(f"<{_slack_url(node.url)}|{escaped}>")
            else:
                fallback = _link_fallback(label, node.url)
                parts.append(_slack_escape(_slack_neutralise(fallback)))
    return "".join(parts)


# ------------------------------------------------------------------------- telegram


def render_telegram_html(blocks: Document) -> str:
    """Render for Telegram's ``parse_mode=HTML``: ``<b>``, ``<i>``, ``<a href>``.

    Text escapes ``&``, ``<`` and ``>`` (the only characters Telegram requires), and
    ``href`` values also escape ``"``. Only http, https, mailto and tg links become
    anchors. Telegram has no lists, so bullets are ``•`` lines.

    Args:
        blocks: A parsed reply.

    Returns:
        Text for ``sendMessage`` with ``parse_mode="HTML"``.

    """
    return _render_blocks(blocks, _telegram_inlines, "\u2022 ")


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _html_attribute(value: str) -> str:
    return _html_escape(value).replace('"', "&quot;")


def _telegram_inlines(inlines: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    for node in inlines:
        if isinstance(node, Text):
            parts.append(_html_escape(node.text))
        elif isinstance(node, Bold):
            parts.append(f"<b>{_telegram_inlines(node.children)}</b>")
        elif isinstance(node, Italic):
            parts.append(f"<i>{_telegram_inlines(node.children)}</i>")
        elif url_scheme(node.url) in TELEGRAM_LINK_SCHEMES:
            label = _telegram_inlines(node.children)
            parts.append(f'<a href="{_html_attribute(node.url)}">{label}</a>')
        else:
            parts.append(_html_escape(_link_fallback(inline_text(node.children), node.url)))
    return "".join(parts)


# ---------------------------------------------------------------------------- email


def render_html(blocks: Document) -> str:
    """Render as an HTML fragment: ``<p>``, ``<ul>``/``<li>``, ``<strong>``, ``<em>``, ``<a>``.

    Args:
        blocks: A parsed reply.

    Returns:
        Escaped HTML for the inside of a ``<body>``, one block per line.

    """
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            parts.append(f"<p>{_html_inlines(block.inlines)}</p>")
        else:
            items = "".join(f"<li>{_html_inlines(item)}</li>\n" for item in block.items)
            parts.append(f"<ul>\n{items}</ul>")
    return "\n".join(parts)


def _html_inlines(inlines: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    for node in inlines:
        if isinstance(node, Text):
            parts.append(_html_escape(node.text).replace("\n", "<br>\n"))
        elif isinstance(node, Bold):
            parts.append(f"<strong>{_html_inlines(node.children)}</strong>")
        elif isinstance(node, Italic):
            parts.append(f"<em>{_html_inlines(node.children)}</em>")
        elif url_scheme(node.url) in HTML_LINK_SCHEMES:
            label = _html_inlines(node.children)
            parts.append(f'<a href="{_html_attribute(node.url)}">{label}</a>')
        else:
            fallback = _link_fallback(inline_text(node.children), node.url)
            parts.append(_html_escape(fallback).replace("\n", "<br>\n"))
    return "".join(parts)


def html_document(body: str, *, lang: str = "en") -> str:
    """Wrap an HTML fragment from :func:`render_html` into a complete document.

    Args:
        body: Escaped HTML for the body.
        lang: The document's language tag.

    Returns:
        A complete HTML5 document, UTF-8, ending in a newline.

    """
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_html_attribute(lang)}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "</head>\n"
        "<body>\n"
        f"{body}\n"
        "</body>\n"
        "</html>\n"
    )
