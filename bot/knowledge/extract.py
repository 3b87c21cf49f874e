"""An extract of a passage: the sentences that answer the question, within a length budget.

When the gate stops a generated answer but the best passage is a confident match, the
customer gets the passage's own words instead ("From our help centre: ...", with the link).

How the extract is chosen (:func:`extract_best`):

- **Units.** A passage splits into sentences, list items and table rows
  (:func:`sentences`). A line broken inside a sentence (hard-wrapped Markdown, PDF text) is
  joined again; a Markdown table row is written out with its header ("Size S: Chest (cm)
  82–86, Waist (cm) 66–70"), so that it reads on its own in a chat bubble.
- **Scoring.** Each unit is scored by its MiniLM cosine to the question, embedded *after its
  document's title* ("Transit 40 Travel Pack: Weight: 1.2 kg"): a spec line alone does not
  name its product. Not after the heading path: where the headings are customer questions
  (an FAQ, a help centre built from tickets), every unit then looked like the question and
  the scores went flat (on Bitext's development half, 73.9% correct against 82.6% with the
  title alone; 56.5% against 55.1% on the sample's).
- **Pool.** The units of every retrieved passage of the best passage's document compete:
  the answer to "how much does the Transit 40 weigh?" is in the specifications, not in the
  introduction that matched best as a whole.
- **Ranges.** A unit whose labelled range holds a number of the question ("Chest (cm)
  94–100" for "what size for a 96 cm chest?") gains :data:`RANGE_BONUS`: MiniLM cannot
  tell 96 from 88, and without it every row of a size chart scored alike. The range's
  label must share a word (3 letters or more) with the question, so that the waist column
  does not answer a question about the chest.
- **Focus.** The best unit is kept, with the other units of its passage that score within
  :data:`FOCUS_MARGIN` of it, in passage order, as many as fit the budget. Filling the
  budget with weaker sentences buried the answer (on the sample's development half the
  focused extract was correct for 55% of answerable questions against 43%).

It never cuts a word: a single unit longer than the budget is shortened at a word boundary
and ends with an ellipsis.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.knowledge.chunks import Chunk
from common.embeddings import Embedder

ELLIPSIS = "…"
FOCUS_MARGIN = 0.1
"""Units of the best passage scoring at most this far below the best unit join the extract."""
_MARKUP_RE = re.compile(r"(?m)^\s*(?:#{1,6}|[-*+]|\d{1,2}[.)]|>)\s+")
# A sentence ends at . ! or ? (not at a decimal point: "6.95", "1.6 kg"), or at a line end.
_SENTENCE_RE = re.compile(r"(?:[^.!?\n]|[.!?](?=\d))+(?:[.!?]+[\"')\]]*|(?=\n)|$)")
# A line break inside a sentence: the line does not end a sentence or a label, and the next
# line goes on in lower case (hard-wrapped Markdown, text taken out of a PDF).
_SOFT_WRAP_RE = re.compile(r"(?<=[^.!?:\s])[ \t]*\n[ \t]*(?=[a-z])")
RANGE_BONUS = 0.2
"""Added to a unit's score when one of its labelled ranges holds a number of the question."""
_NUMBER_RE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
_RANGE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*[–—-]\s*(\d+(?:\.\d+)?)")
_WORD_RE = re.compile(r"[^\W\d_]{3,}")
_SENTENCE_END = frozenset(".!?…\"')]")
_UNIT_SEPARATOR = "; "
_TABLE_ROW_RE = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE_RE = re.compile(r"^[\s|:-]+$")


@dataclass(frozen=True)
class PassageExtract:
    """What the channel adapter needs to send and cite a passage.

    Attributes:
        text: The extract (whole words; at most the budget in characters).
        title: The document's title.
        section: The passage's heading path ("" at the top).
        source: The document's URL or relative path.
        chunk_id: The passage's chunk id.
        cosine: The passage's dense cosine to the question.
    """

    text: str
    title: str
    section: str
    source: str
    chunk_id: str
    cosine: float


def is_table_row(line: str) -> bool:
    """Whether a line is a Markdown table row (``| ... |``, separator rows included)."""
    return bool(_TABLE_ROW_RE.match(line))


def _table_cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def linearise_tables(text: str) -> str:
    """Write each Markdown table row out as one line that names its columns.

    The header row names the columns: ``| Size | Chest (cm) |`` over ``| S | 82–86 |``
    becomes ``Size S: Chest (cm) 82–86``; with an empty first header cell (a comparison
    table), the row's first cell is its label: ``Weight: Drizzle 240 g, Stormline 3L 395 g``.
    Lines that are not table rows are kept as they are.

    Args:
        text: Text that may hold Markdown tables.

    Returns:
        The text with one line per table data row (separator rows dropped).
    """
    out: list[str] = []
    header: list[str] | None = None
    for line in text.split("\n"):
        if not is_table_row(line):
            header = None
            out.append(line)
            continue
        if _TABLE_RULE_RE.match(line):
            continue
        row = _table_cells(line)
        if header is None:
            header = row
            continue
        label = f"{header[0]} {row[0]}".strip()
        # A ragged row (fewer or more cells than the header) keeps the cells both have.
        pairs = zip(header[1:], row[1:], strict=False)
        values = ", ".join(f"{name} {value}".strip() for name, value in pairs if value)
        out.append(f"{label}: {values}" if values else label)
    return "\n".join(out)


def sentences(text: str) -> list[str]:
    """Split a passage into sentences, list items and table rows.

    Markdown list and heading markers are dropped, a line broken inside a sentence is
    joined again, and each table row is written out with its header
    (:func:`linearise_tables`).

    Args:
        text: The passage.

    Returns:
        Its non-empty units, whitespace collapsed, in order.
    """
    plain = _MARKUP_RE.sub("", _SOFT_WRAP_RE.sub(" ", linearise_tables(text)))
    found = (" ".join(m.group().split()) for m in _SENTENCE_RE.finditer(plain))
    return [s for s in found if any(c.isalnum() for c in s)]


def shorten(text: str, max_chars: int) -> str:
    """Shorten text to at most ``max_chars`` characters at a word boundary.

    Args:
        text: The text.
        max_chars: The budget, ellipsis included.

    Returns:
        The text itself if it fits, else its longest whole-word prefix plus an ellipsis
        (empty when not even the first word fits).
    """
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - len(ELLIPSIS) + 1]
    space = cut.rfind(" ")
    if space <= 0:
        return ""
    return cut[:space].rstrip(" ,;:-") + ELLIPSIS


def range_matches(question: str, units: Sequence[str]) -> list[bool]:
    """Whether each unit has a range, labelled with a word of the question, that holds its number.

    A unit is read as comma-separated cells ("Size M: Chest (cm) 94–100, Waist (cm)
    82–88", as :func:`linearise_tables` writes a row); a cell's label is its text before the
    range. The question's numbers and words are read once.

    Args:
        question: The customer's question.
        units: Sentences, list items or table rows.

    Returns:
        One flag per unit: True when some cell's range holds a number of the question and
        its label shares a word of three letters or more with the question.
    """
    numbers = [float(n) for n in _NUMBER_RE.findall(question)]
    if not numbers:
        return [False] * len(units)
    words = {w.lower() for w in _WORD_RE.findall(question)}

    def matches(unit: str) -> bool:
        for cell in unit.split(","):
            for match in _RANGE_RE.finditer(cell):
                low, high = sorted((float(match.group(1)), float(match.group(2))))
                label = {w.lower() for w in _WORD_RE.findall(cell[: match.start()])}
                if label & words and any(low <= n <= high for n in numbers):
                    return True
        return False

    return [matches(unit) for unit in units]


def _focus(parts: Sequence[str], scores: np.ndarray, max_chars: int) -> str:
    """The best unit and those within :data:`FOCUS_MARGIN` of it, in order, within budget."""
    ranking = [int(i) for i in np.argsort(-scores, kind="stable")]
    best = ranking[0]
    if len(parts[best]) > max_chars:
        return shorten(parts[best], max_chars)
    chosen = [best]
    used = len(parts[best])
    for index in ranking[1:]:
        if scores[index] < scores[best] - FOCUS_MARGIN:
            break
        extra = len(parts[index]) + len(_UNIT_SEPARATOR)
        if used + extra <= max_chars:
            chosen.append(index)
            used += extra
    return join_units([parts[i] for i in sorted(chosen)])


def join_units(parts: Sequence[str]) -> str:
    """Join units into one text: after a sentence a space, after a list item or row "; ".

    "Size S: Chest (cm) 88–94; Size M: Chest (cm) 94–100" reads as two rows, where a space
    ran them together.

    Args:
        parts: The units, in order.

    Returns:
        The text (at most ``len(_UNIT_SEPARATOR)`` characters per join).
    """
    out = ""
    for part in parts:
        if out:
            out += " " if out[-1] in _SENTENCE_END else _UNIT_SEPARATOR
        out += part
    return out


def extract_best(
    question: str,
    passages: Sequence[tuple[Chunk, float]],
    embedder: Embedder,
    max_chars: int,
) -> PassageExtract | None:
    """Extract the answer from the retrieved passages of the best passage's document.

    Every unit of the passages that share the first passage's document is scored with the
    document's title; the extract comes from the passage that holds the best unit, and cites it.

    Args:
        question: The customer's question.
        passages: The retrieved passages with their dense cosines, best first.
        embedder: The sentence encoder.
        max_chars: Longest extract, in characters.

    Returns:
        The extract with its passage's citation, or None when no passage has any text.
    """
    if not passages:
        return None
    document = passages[0][0].doc_id
    pool = [(chunk, cosine) for chunk, cosine in passages if chunk.doc_id == document]
    units = [(n, part) for n, (chunk, _) in enumerate(pool) for part in sentences(chunk.text)]
    if not units:
        return None
    texts = [f"{pool[n][0].title}: {part}" for n, part in units]
    vectors = np.asarray(embedder.encode([question, *texts]), dtype=np.float64)
    scores = vectors[1:] @ vectors[0]
    scores += RANGE_BONUS * np.array(range_matches(question, [part for _, part in units]))
    owner = units[int(np.argmax(scores))][0]
    mine = [i for i, (n, _) in enumerate(units) if n == owner]
    parts = [units[i][1] for i in mine]
    text = _focus(parts, scores[mine], max_chars)
    chunk, cosine = pool[owner]
    return PassageExtract(text, chunk.title, chunk.section, chunk.source, chunk.chunk_id, cosine)
