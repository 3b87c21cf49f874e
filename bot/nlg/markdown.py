"""A small, safe parser for the light Markdown that replies are written in.

Replies (domain ``utter_*`` responses and generated replies) use a small subset of
Markdown. This module turns such text into an immutable tree of blocks and inline
spans that the renderers in :mod:`bot.nlg.render` turn into each channel's format.

The subset:

* paragraphs, separated by blank lines; a single newline inside a paragraph is kept
  as a line break (chat replies are written that way);
* bullet lists: lines starting with ``-``, ``*``, ``+`` or ``•`` and a space; an
  indented line continues the item above it;
* ``**bold**`` (also ``__bold__``), ``_italic_`` (also ``*italic*``) and
  ``***both***``, with CommonMark-like flanking rules so that ``2 * 3 * 4`` and
  ``snake_case_name`` stay text;
* links ``[text](url)``; link text may be bold or italic, links do not nest;
* backslash escapes (``\\*`` is a literal asterisk).

Headings (``# Title``) become a paragraph in bold, and thematic breaks (``---``)
separate paragraphs. Anything else (HTML, code, tables, images) is plain text: it is
never interpreted, so each renderer escapes it for its own format.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "BARE_URL",
    "Block",
    "Bold",
    "BulletList",
    "Document",
    "Inline",
    "Italic",
    "Link",
    "Paragraph",
    "Text",
    "inline_text",
    "is_dangerous_url",
    "map_text",
    "parse",
    "url_scheme",
    "visible_text",
]


@dataclass(frozen=True, slots=True)
class Text:
    """Literal text; ``\\n`` inside it is a line break."""

    text: str


@dataclass(frozen=True, slots=True)
class Bold:
    """Strong emphasis around other inline spans."""

    children: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Italic:
    """Emphasis around other inline spans."""

    children: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Link:
    """A hyperlink; ``children`` is its visible text (never empty, never a link)."""

    children: tuple[Inline, ...]
    url: str


Inline: TypeAlias = Text | Bold | Italic | Link


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph of inline spans."""

    inlines: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class BulletList:
    """An unordered list; each item is a tuple of inline spans."""

    items: tuple[tuple[Inline, ...], ...]


Block: TypeAlias = Paragraph | BulletList
Document: TypeAlias = tuple[Block, ...]

_BULLET = re.compile(r"^ {0,3}[-*+\u2022][ \t]+(?P<body>.*)$")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<body>.*?)(?:[ \t]+#+)?[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_CONTINUATION = re.compile(r"^(?: {2,}|\t)")
_LINK_DESTINATION = re.compile(
    r"[ \t]*(?:<(?P<angle>[^<>\n]*)>"
    r"|(?P<raw>[^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*))"
    r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'))?[ \t]*\)"
)
BARE_URL = re.compile(
    r"(?:https?://|mailto:|www\.)[^\s<>]*[^\s<>.,;:!?'\"()\[\]*_~]"
    r"(?:\([^\s<>()]*\)[^\s<>]*[^\s<>.,;:!?'\"()\[\]*_~])?",
    re.IGNORECASE,
)
"""A URL written without link markup; its characters are never read as markup."""
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]+")
_ESCAPABLE = frozenset(string.punctuation)
_DANGEROUS_SCHEMES = frozenset({"javascript", "vbscript", "data", "file"})


def parse(text: str) -> Document:
    """Parse light Markdown into blocks.

    Args:
        text: The reply as written by the company or generated.

    Returns:
        The blocks of the reply; empty when the text is blank.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[list[str]] = []

    def flush_paragraph() -> None:
        if paragraph:
            inlines = _parse_inlines("\n".join(paragraph))
            if inlines:
                blocks.append(Paragraph(inlines))
            paragraph.clear()

    def flush_list() -> None:
        parsed = tuple(p for p in (_parse_inlines("\n".join(item)) for item in items) if p)
        if parsed:
            blocks.append(BulletList(parsed))
        items.clear()

    for line in lines:
        if not line.strip() or _THEMATIC_BREAK.match(line):
            flush_paragraph()
            flush_list()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush_paragraph()
            flush_list()
            inlines = _parse_inlines(heading.group("body"))
            if inlines:
                blocks.append(Paragraph((Bold(inlines),)))
            continue
        bullet = _BULLET.match(line)
        if bullet:
            flush_paragraph()
            items.append([bullet.group("body").strip()])
            continue
        if items and _CONTINUATION.match(line):
            items[-1].append(line.strip())
            continue
        flush_list()
        paragraph.append(line.strip())
    flush_paragraph()
    flush_list()
    return tuple(blocks)


def _parse_inlines(source: str) -> tuple[Inline, ...]:
    return tuple(_parse_range(source, 0, len(source), in_link=False))


def _parse_range(s: str, start: int, end: int, *, in_link: bool) -> list[Inline]:
    """Parse ``s[start:end]`` into inline spans, looking at ``s`` around it for flanking."""
    out: list[Inline] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            _append_text(out, "".join(buf))
            buf.clear()

    i = start
    while i < end:
        c = s[i]
        if c == "\\" and i + 1 < end and s[i + 1] in _ESCAPABLE:
            buf.append(s[i + 1])
            i += 2
            continue
        if (c == "h" or c == "w" or c == "m") and (i == 0 or not s[i - 1].isalnum()):
            bare = BARE_URL.match(s, i, end)
            if bare is not None:
                buf.append(bare.group())
                i = bare.end()
                continue
        if c == "[" and not in_link:
            link = _match_link(s, i, end)
            if link is not None:
                label_start, label_end, url, after = link
                flush()
                children = tuple(_parse_range(s, label_start, label_end, in_link=True))
                out.append(Link(children or (Text(url),), url))
                i = after
                continue
        if c in "*_":
            run = 1
            while i + run < end and s[i + run] == c and run < 3:
                run += 1
            matched = False
            for size in range(run, 0, -1):
                delim = c * size
                close = _find_close(s, i, end, delim)
                if close is None:
                    continue
                flush()
                children = tuple(_parse_range(s, i + size, close, in_link=in_link))
                if size == 3:
                    out.append(Bold((Italic(children),)))
                elif size == 2:
                    out.append(Bold(children))
                else:
                    out.append(Italic(children))
                i = close + size
                matched = True
                break
            if not matched:
                buf.append(s[i : i + run])
                i += run
            continue
        buf.append(c)
        i += 1
    flush()
    return out


def _append_text(out: list[Inline], text: str) -> None:
    if out and isinstance(out[-1], Text):
        out[-1] = Text(out[-1].text + text)
    elif text:
        out.append(Text(text))


def _find_close(s: str, i: int, end: int, delim: str) -> int | None:
    """Find the closing delimiter for an opening ``delim`` at ``s[i]``, if it can open."""
    size = len(delim)
    after = i + size
    if after >= end or s[after].isspace() or s[after] == delim[0]:
        return None
    if delim[0] == "_" and i > 0 and s[i - 1].isalnum():
        return None
    j = after + 1
    while True:
        j = s.find(delim, j, end)
        if j < 0:
            return None
        before = s[j - 1]
        following = s[j + size] if j + size < len(s) else ""
        if (
            before.isspace()
            or before == "\\"
            or before == delim[0]
            or following == delim[0]
            or (delim[0] == "_" and following.isalnum())
        ):
            j += 1
            continue
        return j


def _match_link(s: str, i: int, end: int) -> tuple[int, int, str, int] | None:
    """Match ``[label](url)`` at ``s[i]``; return label bounds, URL and end offset."""
    depth = 0
    j = i + 1
    while j < end:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]":
            if depth == 0:
                break
            depth -= 1
        j += 1
    if j + 1 >= end or s[j] != "]" or s[j + 1] != "(":
        return None
    destination = _LINK_DESTINATION.match(s, j + 2, end)
    if destination is None:
        return None
    url = (destination.group("angle") or destination.group("raw") or "").strip()
    if not url:
        return None
    return i + 1, j, url, destination.end()


def url_scheme(url: str) -> str | None:
    """Return the lower-cased scheme of ``url`` as a browser would see it.

    Control characters and whitespace are dropped first, because browsers ignore them
    (``java\\tscript:`` is ``javascript:``).

    Args:
        url: A link destination.

    Returns:
        The scheme without the colon, or ``None`` for a relative URL.
    """
    match = _SCHEME.match(_CONTROL_OR_SPACE.sub("", url).lower())
    return match.group(1) if match else None


def is_dangerous_url(url: str) -> bool:
    """Whether a URL runs code or reads local data when followed (never shown or linked)."""
    return url_scheme(url) in _DANGEROUS_SCHEMES


def inline_text(inlines: tuple[Inline, ...]) -> str:
    """The visible text of inline spans: markup removed, link text without its URL."""
    return "".join(_iter_texts(inlines))


def _iter_texts(inlines: tuple[Inline, ...]) -> Iterator[str]:
    for node in inlines:
        if isinstance(node, Text):
            yield node.text
        else:
            yield from _iter_texts(node.children)


def visible_text(blocks: Document) -> str:
    """What a reader sees of ``blocks``: the budget that ``max_chars`` counts.

    Links count their text only, bullets count as two characters and paragraphs are
    separated by a blank line.

    Args:
        blocks: A parsed reply.

    Returns:
        The text without markup or URLs.
    """
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            parts.append(inline_text(block.inlines))
        else:
            parts.append("\n".join("- " + inline_text(item) for item in block.items))
    return "\n\n".join(parts)


TextTransform: TypeAlias = Callable[[str, str, str], str]
"""A function ``(text, before, after) -> text``; ``before``/``after`` are the visible
characters just around ``text`` within its paragraph or list item ('' at the edges)."""


def map_text(blocks: Document, transform: TextTransform) -> Document:
    """Apply ``transform`` to every text span, leaving URLs and markup alone.

    Spans that become empty are removed, and so are blocks and list items left empty.

    Args:
        blocks: A parsed reply.
        transform: Called as ``transform(text, before, after)`` for each text span, in
            reading order, with the neighbouring visible characters as context.

    Returns:
        The transformed reply.
    """
    out: list[Block] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            inlines = _map_unit(block.inlines, transform)
            if inlines:
                out.append(Paragraph(inlines))
        else:
            items = tuple(i for i in (_map_unit(item, transform) for item in block.items) if i)
            if items:
                out.append(BulletList(items))
    return tuple(out)


def _map_unit(inlines: tuple[Inline, ...], transform: TextTransform) -> tuple[Inline, ...]:
    texts = list(_iter_texts(inlines))
    full = "".join(texts)
    results: list[str] = []
    offset = 0
    for text in texts:
        end = offset + len(text)
        results.append(transform(text, full[offset - 1 : offset] if offset else "", full[end : end + 1]))
        offset = end
    rebuilt = _rebuild(inlines, iter(results))
    return rebuilt if inline_text(rebuilt).strip() else ()


def _rebuild(inlines: tuple[Inline, ...], replaced: Iterator[str]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for node in inlines:
        if isinstance(node, Text):
            _append_text(out, next(replaced))
        else:
            children = _rebuild(node.children, replaced)
            if not inline_text(children):
                if isinstance(node, Link):
                    out.append(Link((Text(node.url),), node.url))
                continue
            if isinstance(node, Link):
                out.append(Link(children, node.url))
            elif isinstance(node, Bold):
                out.append(Bold(children))
            else:
                out.append(Italic(children))
    return tuple(out)
