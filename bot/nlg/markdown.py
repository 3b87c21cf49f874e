r"""A small, safe parser for the light Markdown that replies are written in.

Replies (domain ``utter_*`` responses and generated replies) use a small subset of
Markdown. This module turns such text into an immutable tree of blocks and inline
spans that the renderers in :mod:`bot.nlg.render` turn into each channel's format.

The subset:

* paragraphs, separated by blank lines; a single newline inside a paragraph is kept
  as a line break (chat replies are written that way);
* bullet lists: lines starting with ``-``, ``*``, ``+`` or ``•`` and a space; an
  indented line continues the item above it;
* ``**bold**`` (also ``__bold__``), ``_italic_`` (also ``*italic*``) and
  ``***both***``, with CommonMark-like flanking rules so that ``2 * 3 * 4``,
  ``5*3*2`` and ``snake_case_name`` stay text;
* links ``[text](url)``; link text may be bold or italic, links do not nest;
* backslash escapes (``\*`` is a literal asterisk).

Headings (``# Title``) become a paragraph in bold, and thematic breaks (``---``)
separate paragraphs. Anything else (HTML, code, tables, images) is plain text: it is
never interpreted, so each renderer escapes it for its own format.
"""

from __future__ import annotations

import bisect
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "find_bare_urls",
    "find_literals",
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
    "match_bare_url",
    "parse",
    "url_scheme",
    "visible_text",
]


@dataclass(frozen=True, slots=True)
class Text:
    r"""Literal text; ``\n`` inside it is a line break."""

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
_BARE_URL_START = re.compile(r"(?P<prefix>https?://|mailto:|www\.)[^\s<>]+", re.IGNORECASE)
_BARE_URL_CANDIDATE = re.compile(r"(?<![^\W_])(?:https?://|mailto:|www\.)", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.%+\-])[\w.%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+", re.ASCII)
_URL_TRAILING = ".,;:!?'\"*_~]"
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
    return tuple(_InlineParser(source).parse_range(0, len(source), in_link=False))


class _InlineParser:
    """Parses the inline spans of one paragraph, list item or heading.

    Which delimiters can close emphasis, and which brackets pair up, depends only on
    the text, so both are worked out once; every lookup is then a bisection, and
    text full of unmatched ``*``, ``_`` or ``[`` parses in linear time.
    """

    def __init__(self, source: str) -> None:
        self.s = source
        self._closers: dict[str, list[int]] = {}
        self._brackets = self._pair_brackets()

    def parse_range(self, start: int, end: int, *, in_link: bool) -> list[Inline]:
        """Parse ``s[start:end]``, looking at the text around it for flanking."""
        s = self.s
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
            if c in "hHwWmM" and (i == 0 or not s[i - 1].isalnum()):
                url_end = match_bare_url(s, i, end)
                if url_end is not None:
                    buf.append(s[i:url_end])
                    i = url_end
                    continue
            if c == "[" and not in_link:
                link = self._match_link(i, end)
                if link is not None:
                    label_start, label_end, url, after = link
                    flush()
                    children = tuple(self.parse_range(label_start, label_end, in_link=True))
                    out.append(Link(children or (Text(url),), url))
                    i = after
                    continue
            if c in "*_":
                run = 1
                while i + run < end and s[i + run] == c and run < 3:
                    run += 1
                for size in range(run, 0, -1):
                    close = self._find_close(i, end, c * size)
                    if close is None:
                        continue
                    flush()
                    children = tuple(self.parse_range(i + size, close, in_link=in_link))
                    if size == 3:
                        out.append(Bold((Italic(children),)))
                    elif size == 2:
                        out.append(Bold(children))
                    else:
                        out.append(Italic(children))
                    i = close + size
                    break
                else:
                    buf.append(s[i : i + run])
                    i += run
                continue
            buf.append(c)
            i += 1
        flush()
        return out

    def _find_close(self, i: int, end: int, delim: str) -> int | None:
        """Find where an opening ``delim`` at ``s[i]`` closes, if it can open at all."""
        s = self.s
        after = i + len(delim)
        if after >= end or s[after].isspace() or s[after] == delim[0]:
            return None
        if _inside_words(delim) and i > 0 and s[i - 1].isalnum():
            return None
        closers = self._closers_for(delim)
        index = bisect.bisect_left(closers, after + 1)
        if index < len(closers) and closers[index] + len(delim) <= end:
            return closers[index]
        return None

    def _closers_for(self, delim: str) -> list[int]:
        """Every offset where ``delim`` could close emphasis, in order."""
        if delim not in self._closers:
            s, size = self.s, len(delim)
            found: list[int] = []
            j = s.find(delim, 1)
            while j >= 0:
                before = s[j - 1]
                following = s[j + size] if j + size < len(s) else ""
                if not (
                    before.isspace()
                    or before == "\\"
                    or before == delim[0]
                    or following == delim[0]
                    or (_inside_words(delim) and following.isalnum())
                ):
                    found.append(j)
                j = s.find(delim, j + 1)
            self._closers[delim] = found
        return self._closers[delim]

    def _pair_brackets(self) -> dict[int, int]:
        """Map the offset of each ``[`` to that of its matching ``]``."""
        pairs: dict[int, int] = {}
        stack: list[int] = []
        s, i = self.s, 0
        while i < len(s):
            c = s[i]
            if c == "\\":
                i += 2
                continue
            if c == "[":
                stack.append(i)
            elif c == "]" and stack:
                pairs[stack.pop()] = i
            i += 1
        return pairs

    def _match_link(self, i: int, end: int) -> tuple[int, int, str, int] | None:
        """Match ``[label](url)`` at ``s[i]``; return label bounds, URL and end offset."""
        s = self.s
        j = self._brackets.get(i)
        if j is None or j + 1 >= end or s[j + 1] != "(":
            return None
        destination = _LINK_DESTINATION.match(s, j + 2, end)
        if destination is None:
            return None
        url = (destination.group("angle") or destination.group("raw") or "").strip()
        if not url:
            return None
        return i + 1, j, url, destination.end()


def _inside_words(delim: str) -> bool:
    """Whether ``delim`` may not open or close inside a word.

    ``_`` never does (``snake_case``), nor does a single ``*`` (``5*3*2`` is
    arithmetic); ``**`` may, as in CommonMark.
    """
    return delim[0] == "_" or delim == "*"


def _append_text(out: list[Inline], text: str) -> None:
    if out and isinstance(out[-1], Text):
        out[-1] = Text(out[-1].text + text)
    elif text:
        out.append(Text(text))


def match_bare_url(s: str, pos: int = 0, end: int | None = None) -> int | None:
    """Match a URL written without link markup (``https://…``, ``www.…``, ``mailto:…``).

    Trailing punctuation is left out, and so is a closing parenthesis that has no
    opening one inside the URL, as GitHub's autolinks do.

    Args:
        s: The text.
        pos: Where the URL would start.
        end: Where the text ends (default: the end of ``s``).

    Returns:
        The offset just past the URL, or ``None`` when no URL starts at ``pos``.

    """
    match = _BARE_URL_START.match(s, pos, len(s) if end is None else end)
    if match is None:
        return None
    url = match.group()
    while url:
        if url[-1] in _URL_TRAILING:
            url = url[:-1]
        elif url[-1] == ")" and url.count(")") > url.count("("):
            url = url[:-1]
        else:
            break
    if len(url) <= match.end("prefix") - pos:
        return None
    return pos + len(url)


def find_bare_urls(text: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of each URL written without link markup in ``text``."""
    position = 0
    for candidate in _BARE_URL_CANDIDATE.finditer(text):
        start = candidate.start()
        if start < position:
            continue
        end = match_bare_url(text, start)
        if end is not None:
            yield start, end
            position = end


def find_literals(text: str) -> list[tuple[int, int]]:
    """Find text that must reach the reader character for character: URLs and e-mails.

    Tone functions skip these spans, and renderers do not neutralise characters in
    them (an underscore in ``first_last@example.com`` must stay an underscore).

    Args:
        text: Visible text.

    Returns:
        ``(start, end)`` of each URL written without markup and each e-mail address,
        in order and not overlapping.

    """
    spans = list(find_bare_urls(text))
    for match in _EMAIL.finditer(text):
        if not any(start < match.end() and match.start() < end for start, end in spans):
            spans.append(match.span())
    return sorted(spans)


def url_scheme(url: str) -> str | None:
    r"""Return the lower-cased scheme of ``url`` as a browser would see it.

    Control characters and whitespace are dropped first, because browsers ignore them
    (``java\tscript:`` is ``javascript:``).

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
    """Return the visible text of inline spans: no markup, link text without its URL."""
    return "".join(_iter_texts(inlines))


def _iter_texts(inlines: tuple[Inline, ...]) -> Iterator[str]:
    for node in inlines:
        if isinstance(node, Text):
            yield node.text
        else:
            yield from _iter_texts(node.children)


def visible_text(blocks: Document) -> str:
    """Return what a reader sees of ``blocks``: the text that ``max_chars`` counts.

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
    """Apply ``transform`` to every text span, leaving markup, URLs and e-mails alone.

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
        pieces: list[str] = []
        last = 0
        for start, end in [*find_literals(text), (len(text), len(text))]:
            if start > last:
                a, b = offset + last, offset + start
                pieces.append(transform(full[a:b], full[a - 1 : a] if a else "", full[b : b + 1]))
            pieces.append(text[start:end])
            last = end
        results.append("".join(pieces))
        offset += len(text)
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
