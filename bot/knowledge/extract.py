"""An extract of a passage: its sentences closest to the question, within a length budget.

When the gate stops a generated answer but the best passage is a confident match, the
customer gets the passage's own words instead ("From our help centre: ...", with the link).
The extract keeps the sentences most similar to the question (MiniLM cosine), in their
original order, as many as fit in the budget; it never cuts a word. A single sentence
longer than the budget is shortened at a word boundary and ends with an ellipsis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bot.knowledge.chunks import Chunk
from common.embeddings import Embedder

ELLIPSIS = "…"
_MARKUP_RE = re.compile(r"(?m)^\s*(?:#{1,6}|[-*+]|\d{1,2}[.)]|>)\s+")
# A sentence ends at . ! or ? (not at a decimal point: "6.95", "1.6 kg"), or at a line end.
_SENTENCE_RE = re.compile(r"(?:[^.!?\n]|[.!?](?=\d))+(?:[.!?]+[\"')\]]*|(?=\n)|$)")


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


def sentences(text: str) -> list[str]:
    """Split a passage into sentences (Markdown list and heading markers dropped).

    Args:
        text: The passage.

    Returns:
        Its non-empty sentences, whitespace collapsed, in order.
    """
    plain = _MARKUP_RE.sub("", text)
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


def extract_text(question: str, passage: str, embedder: Embedder, max_chars: int) -> str:
    """Return the sentences of a passage that best answer a question, within a budget.

    Sentences are ranked by cosine to the question; the best ones that fit are kept and
    put back in passage order. When the best sentence alone is over the budget, it is
    shortened rather than passed over.

    Args:
        question: The customer's question.
        passage: The passage's text.
        embedder: The sentence encoder.
        max_chars: Longest extract, in characters.

    Returns:
        The extract (never cuts a word).
    """
    parts = sentences(passage)
    if not parts:
        return ""
    if len(parts) == 1:
        return shorten(parts[0], max_chars)
    vectors = np.asarray(embedder.encode([question, *parts]), dtype=np.float64)
    ranking = [int(i) for i in np.argsort(-(vectors[1:] @ vectors[0]), kind="stable")]
    if len(parts[ranking[0]]) > max_chars:
        return shorten(parts[ranking[0]], max_chars)
    chosen: list[int] = []
    used = 0
    for index in ranking:
        extra = len(parts[index]) + (1 if chosen else 0)
        if used + extra <= max_chars:
            chosen.append(index)
            used += extra
    return " ".join(parts[i] for i in sorted(chosen))


def extract_passage(
    question: str, chunk: Chunk, cosine: float, embedder: Embedder, max_chars: int
) -> PassageExtract:
    """Extract a passage for the customer, with what is needed to cite it.

    Args:
        question: The customer's question.
        chunk: The passage.
        cosine: Its dense cosine to the question.
        embedder: The sentence encoder.
        max_chars: Longest extract, in characters.

    Returns:
        The extract with the chunk's title, section, source and id.
    """
    text = extract_text(question, chunk.text, embedder, max_chars)
    return PassageExtract(text, chunk.title, chunk.section, chunk.source, chunk.chunk_id, cosine)
