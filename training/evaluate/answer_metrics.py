"""Metrics for knowledge answers: retrieval recall, correctness, declines, latency.

Pure functions over lists, so ``training.evaluate answers`` and its tests share them.

**Correctness.** An answer is correct when its MiniLM cosine to the reference answer is at
least :data:`CORRECT_COSINE` (0.6). No human judgements exist to calibrate against, so the
threshold is set from the reference answers themselves, on the development half (147
answerable questions, 2026-12-07): the cosine between the references of two *different*
questions about the *same* article (same topic and vocabulary, different answer) has a
median of 0.24 and a 95th percentile of 0.575; between references of questions about
different articles the 99th percentile is 0.476. So 0.6 is passed by fewer than 5% of
answers to the wrong question on the right page and fewer than 1% of answers about another
page: an answer above it says what the reference says, not merely something on the topic.
Each run recomputes those two figures on its own references
(:func:`reference_null_distribution`) and reports correctness at 0.5 and 0.7 too, so the
choice can be checked rather than trusted. A declined answer (an "I don't know" or a
hand-off) is never correct, whatever its cosine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePosixPath

import numpy as np

from training.evaluate.metrics import percentile_ms

CORRECT_COSINE = 0.6
"""Lowest MiniLM cosine to the reference at which an answer counts as correct (above)."""

SENSITIVITY_COSINES = (0.5, 0.6, 0.7)
"""Thresholds at which correctness is also reported, to show how much the choice matters."""

Encode = Callable[[list[str]], np.ndarray]


def same_document(article: str, doc_id: str) -> bool:
    """Whether a question's article and a chunk's document are the same file.

    Paths are compared by their parts, so ``care/care-guide.pdf`` matches
    ``data/knowledge/care/care-guide.pdf`` (a knowledge base built from a parent folder),
    and ``./`` prefixes and Windows separators do not matter.

    Args:
        article: The question's article, relative to the knowledge folder.
        doc_id: A chunk's document id.

    Returns:
        True when one path is the other or ends with it.
    """
    a = PurePosixPath(article.replace("\\", "/").strip()).parts
    b = PurePosixPath(doc_id.replace("\\", "/").strip()).parts
    a = tuple(p for p in a if p != ".")
    b = tuple(p for p in b if p != ".")
    if not a or not b:
        return False
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return longer[-len(shorter) :] == shorter


def recall_at_k(articles: Sequence[str], retrieved: Sequence[Sequence[str]], k: int) -> float:
    """Share of questions whose article is among the documents of the top ``k`` chunks.

    Args:
        articles: Each answerable question's article.
        retrieved: Each question's retrieved chunks' document ids, best first.
        k: How many chunks count.

    Returns:
        The recall in ``[0, 1]``; 0.0 for no questions.
    """
    if not articles:
        return 0.0
    hits = [
        any(same_document(article, doc) for doc in docs[:k])
        for article, docs in zip(articles, retrieved, strict=True)
    ]
    return sum(hits) / len(hits)


def share(flags: Sequence[bool]) -> float:
    """Share of true flags (e.g. unanswerable questions declined); 0.0 for none."""
    return sum(flags) / len(flags) if flags else 0.0


def answer_cosines(
    answers: Sequence[str], references: Sequence[str], encode: Encode
) -> list[float]:
    """MiniLM cosine of each answer to its reference.

    Args:
        answers: The answers sent.
        references: The reference answers, same order.
        encode: Returns one unit-length row per text.

    Returns:
        One cosine per answer.
    """
    if not answers:
        return []
    a = np.asarray(encode(list(answers)), dtype=np.float64)
    b = np.asarray(encode(list(references)), dtype=np.float64)
    return [float(x) for x in np.sum(a * b, axis=1)]


def correct_flags(
    cosines: Sequence[float], declined: Sequence[bool], threshold: float = CORRECT_COSINE
) -> list[bool]:
    """Which answers are correct: not declined and at least ``threshold`` from the reference.

    Args:
        cosines: Each answer's cosine to its reference.
        declined: Whether the system declined the question instead of answering.
        threshold: The correctness threshold.

    Returns:
        One flag per answer.
    """
    return [c >= threshold and not d for c, d in zip(cosines, declined, strict=True)]


def reference_null_distribution(
    references: Sequence[str], articles: Sequence[str], encode: Encode
) -> dict[str, float | None]:
    """How similar reference answers of *different* questions are (the threshold's check).

    Args:
        references: Reference answers of answerable questions.
        articles: Their articles, same order.
        encode: Returns one unit-length row per text.

    Returns:
        ``same_article_p95`` (pairs of questions on one article), ``other_article_p99``
        (pairs on different articles) and the pair counts; a figure is None when there is
        no such pair.
    """
    if len(references) < 2:
        return {
            "same_article_p95": None,
            "other_article_p99": None,
            "same_article_pairs": 0,
            "other_article_pairs": 0,
        }
    vectors = np.asarray(encode(list(references)), dtype=np.float64)
    similarity = vectors @ vectors.T
    upper = np.triu_indices(len(references), k=1)
    same = np.array([same_document(articles[i], articles[j]) for i, j in zip(*upper, strict=True)])
    values = similarity[upper]
    same_values, other_values = values[same], values[~same]
    return {
        "same_article_p95": float(np.percentile(same_values, 95)) if same_values.size else None,
        "other_article_p99": float(np.percentile(other_values, 99)) if other_values.size else None,
        "same_article_pairs": int(same_values.size),
        "other_article_pairs": int(other_values.size),
    }


def latency(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50 and p95 latency in milliseconds (None for no answers)."""
    if not seconds:
        return {"p50_ms": None, "p95_ms": None}
    return {"p50_ms": percentile_ms(seconds, 50), "p95_ms": percentile_ms(seconds, 95)}


def pct(value: float | None) -> str:
    """A share as a table cell: ``12.3%``, or ``-`` when unknown."""
    return "-" if value is None else f"{100 * value:.1f}%"


def ms_cell(value: float | None) -> str:
    """Milliseconds as a table cell: ``1,234``, or ``-`` when unknown."""
    return "-" if value is None else f"{value:,.0f}"
