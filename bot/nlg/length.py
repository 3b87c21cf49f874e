"""Length control for parsed replies: a soft reading budget and hard message limits.

Both work on the tree from :mod:`bot.nlg.markdown`, never on rendered text, so a cut
can never fall inside a tag, an entity or a link's URL, and every part renders with
balanced markup.

* :func:`shorten` keeps a reply within a budget of visible characters by dropping
  whole blocks, list items and sentences from the end. It never cuts inside a
  sentence, a word or a link. The first sentence is always kept, even when it alone
  is over the budget: the budget is soft, and half a sentence can say the opposite of
  the whole.
* :func:`split` breaks a rendered reply into messages that each fit a platform's hard
  limit, at paragraph, then sentence, then word boundaries (outside links first),
  and only as a last resort inside a word.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from bot.nlg.markdown import (
    Block,
    Bold,
    BulletList,
    Document,
    Inline,
    Italic,
    Link,
    Paragraph,
    Text,
    inline_text,
    visible_text,
)

__all__ = ["message_length", "sentence_boundaries", "shorten", "split"]

Renderer = Callable[[Document], str]

_SENTENCE_GAP = re.compile(
    r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*[ \t]+|(?<=[\u3002\uff01\uff1f])|\n"
)
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "mr", "mrs", "ms", "dr", "st", "vs", "no", "approx", "incl", "cf", "ca"}
)
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")


def message_length(text: str) -> int:
    """Length of a message as platforms count it: UTF-16 code units.

    Telegram counts message length in UTF-16 code units, so an emoji outside the
    Basic Multilingual Plane counts twice. The count is never below the number of
    code points, so the same measure is also safe for limits counted in characters.

    Args:
        text: A rendered message.

    Returns:
        Its length in UTF-16 code units.

    """
    return len(text.encode("utf-16-le")) // 2


def sentence_boundaries(text: str) -> list[int]:
    """Offsets in ``text`` where a new sentence (or a new line) starts.

    A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing quotes or
    brackets) followed by whitespace, at ``。！？``, or at a line break. A full stop
    after a common abbreviation (``e.g.``, ``Dr.``, ``No.``), after a single capital
    letter (an initial) or followed by a lower-case letter does not end a sentence.

    Args:
        text: Visible text.

    Returns:
        Ascending offsets, each strictly inside ``text``.

    """
    cuts: list[int] = []
    for match in _SENTENCE_GAP.finditer(text):
        end = match.end()
        if end >= len(text) or end == 0:
            continue
        if (
            match.group() != "\n"
            and text[match.start() - 1 : match.start()] == "."
            and _is_abbreviation(text[: match.start()], text[end])
        ):
            continue
        cuts.append(end)
    return cuts


def _is_abbreviation(before: str, next_char: str) -> bool:
    if next_char.islower():
        return True
    word = _WORD_BEFORE.search(before)
    if word is None:
        return False
    token = word.group(1).lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


# ------------------------------------------------------------------- runs of text
# A run is a piece of text with the stack of marks (bold, italic, link) around it.
# Turning inline spans into runs makes cutting at any offset trivial, and turning the
# cut runs back into spans closes and reopens the marks on each side of the cut.

_Mark = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Run:
    text: str
    marks: tuple[_Mark, ...]


def _to_runs(inlines: tuple[Inline, ...]) -> list[_Run]:
    runs: list[_Run] = []
    counter = [0]

    def walk(nodes: tuple[Inline, ...], marks: tuple[_Mark, ...]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                if node.text:
                    runs.append(_Run(node.text, marks))
            elif isinstance(node, Bold):
                walk(node.children, (*marks, ("b",)))
            elif isinstance(node, Italic):
                walk(node.children, (*marks, ("i",)))
            else:
                counter[0] += 1
                walk(node.children, (*marks, ("a", node.url, str(counter[0]))))

    walk(inlines, ())
    return runs


def _from_runs(runs: list[_Run], depth: int = 0) -> tuple[Inline, ...]:
    out: list[Inline] = []
    i = 0
    while i < len(runs):
        run = runs[i]
        if len(run.marks) <= depth:
            if out and isinstance(out[-1], Text):
                out[-1] = Text(out[-1].text + run.text)
            else:
                out.append(Text(run.text))
            i += 1
            continue
        mark = run.marks[depth]
        j = i
        while j < len(runs) and len(runs[j].marks) > depth and runs[j].marks[depth] == mark:
            j += 1
        children = _from_runs(runs[i:j], depth + 1)
        if mark[0] == "b":
            out.append(Bold(children))
        elif mark[0] == "i":
            out.append(Italic(children))
        else:
            out.append(Link(children, mark[1]))
        i = j
    return tuple(out)


class _Runs:
    """The runs of one paragraph or list item, indexed by visible offset."""

    __slots__ = ("_link_ids", "runs", "starts", "text")

    def __init__(self, inlines: tuple[Inline, ...]) -> None:
        self.runs = _to_runs(inlines)
        self.starts = list(accumulate((len(r.text) for r in self.runs), initial=0))
        self.text = "".join(r.text for r in self.runs)
        self._link_ids: list[str] | None = None

    def slice(self, start: int, end: int) -> list[_Run]:
        """Return the runs covering visible offsets ``[start, end)``, without edge spaces."""
        out: list[_Run] = []
        index = max(bisect.bisect_right(self.starts, start) - 1, 0)
        while index < len(self.runs) and self.starts[index] < end:
            offset, run = self.starts[index], self.runs[index]
            lo, hi = max(start, offset), min(end, offset + len(run.text))
            if lo < hi:
                out.append(_Run(run.text[lo - offset : hi - offset], run.marks))
            index += 1
        return _strip(out)

    @property
    def link_ids(self) -> list[str]:
        """The id of the link around each visible character ('' outside links)."""
        if self._link_ids is None:
            ids: list[str] = []
            for run in self.runs:
                link = next((m[2] for m in run.marks if m[0] == "a"), "")
                ids.extend([link] * len(run.text))
            self._link_ids = ids
        return self._link_ids


def _strip(out: list[_Run]) -> list[_Run]:
    while out and not out[0].text.strip():
        out.pop(0)
    while out and not out[-1].text.strip():
        out.pop()
    if out:
        out[0] = _Run(out[0].text.lstrip(), out[0].marks)
        out[-1] = _Run(out[-1].text.rstrip(), out[-1].marks)
    return out


def _outside_links(cuts: list[int], ids: list[str]) -> list[int]:
    return [c for c in cuts if not ids[c - 1] or ids[c - 1] != ids[c]]


def _sentence_cuts(runs: _Runs) -> list[int]:
    return _outside_links(sentence_boundaries(runs.text), runs.link_ids)


def _word_cuts(runs: _Runs, *, outside_links: bool) -> list[int]:
    text = runs.text
    cuts = [m.end() for m in re.finditer(r"\s+", text) if 0 < m.end() < len(text)]
    return _outside_links(cuts, runs.link_ids) if outside_links else cuts


def _char_cuts(runs: _Runs) -> list[int]:
    text = runs.text
    # Never before a combining mark, a variation selector, a skin tone or a tag, nor
    # on either side of a zero-width joiner: emoji sequences stay whole.
    return [i for i in range(1, len(text)) if not _is_extender(text[i]) and text[i - 1] != "\u200d"]


def _is_extender(char: str) -> bool:
    code = ord(char)
    return (
        0x0300 <= code <= 0x036F
        or 0xFE00 <= code <= 0xFE0F
        or code == 0x200D
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


# ------------------------------------------------------------------------ shorten


def shorten(blocks: Document, max_chars: int | None) -> tuple[Document, bool]:
    """Keep a reply within ``max_chars`` visible characters, cutting at sentence ends.

    Whole blocks are kept while they fit; in the first block that does not, whole
    list items and then whole sentences are kept while they fit. The first sentence
    of the reply is always kept.

    Args:
        blocks: A parsed reply.
        max_chars: The budget in visible characters (see
            :func:`bot.nlg.markdown.visible_text`); ``None`` keeps everything.

    Returns:
        The reply, shortened or not, and whether anything was dropped.

    """
    if max_chars is None or len(visible_text(blocks)) <= max_chars:
        return blocks, False
    kept: list[Block] = []
    remaining = max_chars
    for block in blocks:
        separator = 2 if kept else 0
        size = len(visible_text((block,)))
        if separator + size <= remaining:
            kept.append(block)
            remaining -= separator + size
            continue
        partial = _shorten_block(block, remaining - separator, keep_one=not kept)
        if partial is not None:
            kept.append(partial)
        break
    result = tuple(kept)
    return result, result != blocks


def _shorten_block(block: Block, budget: int, *, keep_one: bool) -> Block | None:
    if isinstance(block, Paragraph):
        inlines = _shorten_inlines(block.inlines, budget, keep_one=keep_one)
        return Paragraph(inlines) if inlines else None
    items: list[tuple[Inline, ...]] = []
    remaining = budget
    for item in block.items:
        cost = (1 if items else 0) + 2 + len(inline_text(item))
        if cost <= remaining:
            items.append(item)
            remaining -= cost
            continue
        partial = _shorten_inlines(
            item, remaining - (1 if items else 0) - 2, keep_one=keep_one and not items
        )
        if partial:
            items.append(partial)
        break
    return BulletList(tuple(items)) if items else None


def _shorten_inlines(
    inlines: tuple[Inline, ...], budget: int, *, keep_one: bool
) -> tuple[Inline, ...]:
    runs = _Runs(inlines)
    cuts = _sentence_cuts(runs)
    best: int | None = None
    for cut in cuts:
        if len(runs.text[:cut].rstrip()) > budget:
            break
        best = cut
    if best is None:
        if not keep_one:
            return ()
        best = cuts[0] if cuts else len(runs.text)
    return _from_runs(runs.slice(0, best))


# -------------------------------------------------------------------------- split


def split(blocks: Document, render: Renderer, limit: int | None) -> list[Document]:
    """Split a reply into messages whose rendering fits ``limit``.

    Blocks are packed greedily into messages. A block too long for one message is
    broken into sentences, a sentence too long into words (between links first), and
    a word too long into characters. Pieces of a broken paragraph become paragraphs
    of their own, pieces of a broken list become lists, and a list item too long for
    a message continues as a paragraph.

    Args:
        blocks: A parsed reply.
        render: The channel's renderer, used to measure each candidate message.
        limit: The most UTF-16 code units a rendered message may have (see
            :func:`message_length`); ``None`` for no limit.

    Returns:
        The messages, in order; each renders within ``limit`` unless a single
        character with its markup cannot.

    """
    if not blocks:
        return []
    if limit is None or message_length(render(blocks)) <= limit:
        return [blocks]

    def fits(candidate: Document) -> bool:
        return message_length(render(candidate)) <= limit

    units: list[Document] = []
    for block in blocks:
        if fits((block,)):
            units.append((block,))
        else:
            units.extend(_break_block(block, fits))
    messages: list[Document] = []
    current: Document = ()
    for unit in units:
        if current and fits(current + unit):
            current = current + unit
        else:
            if current:
                messages.append(current)
            current = unit
    if current:
        messages.append(current)
    return messages


_Fits = Callable[[Document], bool]


def _break_block(block: Block, fits: _Fits) -> list[Document]:
    if isinstance(block, Paragraph):
        return [(Paragraph(p),) for p in _break_inlines(block.inlines, fits, Paragraph)]
    out: list[Document] = []
    group: list[tuple[Inline, ...]] = []
    for item in block.items:
        if fits((BulletList((*group, item)),)):
            group.append(item)
            continue
        if group:
            out.append((BulletList(tuple(group)),))
            group = []
        if fits((BulletList((item,)),)):
            group = [item]
            continue
        # A paragraph renders no longer than the same text as a list item, so the
        # pieces after the first still fit when they continue as paragraphs.
        first, *rest = _break_inlines(item, fits, lambda i: BulletList((i,)))
        out.append((BulletList((first,)),))
        out.extend((Paragraph(piece),) for piece in rest)
    if group:
        out.append((BulletList(tuple(group)),))
    return out


def _break_inlines(
    inlines: tuple[Inline, ...],
    fits: _Fits,
    wrap: Callable[[tuple[Inline, ...]], Block],
) -> list[tuple[Inline, ...]]:
    runs = _Runs(inlines)

    def runs_fit(candidate: list[_Run]) -> bool:
        return fits((wrap(_from_runs(candidate)),))

    levels = [
        _sentence_cuts(runs),
        _word_cuts(runs, outside_links=True),
        _word_cuts(runs, outside_links=False),
        _char_cuts(runs),
    ]
    pieces: list[tuple[Inline, ...]] = []
    for start, end in _pack(runs, 0, len(runs.text), levels, runs_fit):
        piece = runs.slice(start, end)
        if not piece:
            continue
        if not runs_fit(piece):
            # Only a single character is left, and its markup makes it too long.
            piece = [_Run("".join(r.text for r in piece), ())]
        pieces.append(_from_runs(piece))
    return pieces


def _pack(
    runs: _Runs,
    lo: int,
    hi: int,
    levels: list[list[int]],
    fits: Callable[[list[_Run]], bool],
) -> list[tuple[int, int]]:
    """Cut ``runs[lo:hi]`` at the first level's boundaries and pack the pieces greedily.

    Each part takes as many pieces as fit, found by galloping and bisection so that a
    long reply needs few renderings. A piece that does not fit alone is cut again at
    the next level's boundaries, and packing goes on from its last part. Returns the
    ranges of visible offsets.
    """
    if not levels or fits(runs.slice(lo, hi)):
        return [(lo, hi)]
    cuts = levels[0]
    bounds = cuts[bisect.bisect_right(cuts, lo) : bisect.bisect_left(cuts, hi)] + [hi]

    def fits_to(start: int, index: int) -> bool:
        return fits(runs.slice(start, bounds[index]))

    out: list[tuple[int, int]] = []
    start, index = lo, 0
    while index < len(bounds):
        if not fits_to(start, index):
            *done, (start, _) = _pack(runs, start, bounds[index], levels[1:], fits)
            out.extend(done)
            if not fits_to(start, index):  # a last character too long even alone
                out.append((start, bounds[index]))
                start, index = bounds[index], index + 1
                continue
        good, step = index, 1
        while good + step < len(bounds) and fits_to(start, good + step):
            good, step = good + step, step * 2
        bad = min(good + step, len(bounds))
        while bad - good > 1:
            middle = (good + bad) // 2
            if fits_to(start, middle):
                good = middle
            else:
                bad = middle
        out.append((start, bounds[good]))
        start, index = bounds[good], good + 1
    return out
