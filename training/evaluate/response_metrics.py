"""Metrics for generated replies: overlap with the reference, meaning, leaks, length.

Pure functions over lists of strings, so the evaluation and its tests share them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sacrebleu
from rouge_score import rouge_scorer

from bot.nlg.adapter import adapt_reply
from bot.nlg.channel_style import ChannelStyles

Leaks = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class ReplyScores:
    """Scores of one system's replies against the references.

    Attributes:
        rouge_l: Mean ROUGE-L F1, in points (0-100).
        bleu: Corpus BLEU (sacrebleu), in points.
        similarity: Mean cosine similarity of reply and reference embeddings (0-1).
        leak_rate: Share of replies that would send PII or a placeholder (0-1).
        length_compliance: Per channel, the share of replies that fit the channel's
            length budget without being shortened (0-1).
    """

    rouge_l: float
    bleu: float
    similarity: float
    leak_rate: float
    length_compliance: Mapping[str, float]


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F1 in points (stemmed, as in the ROUGE literature)."""
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    scores = [
        scorer.score(ref, pred)["rougeL"].fmeasure
        for pred, ref in zip(predictions, references, strict=True)
    ]
    return 100.0 * float(np.mean(scores)) if scores else 0.0


def bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU in points (sacrebleu defaults)."""
    if not predictions:
        return 0.0
    return float(sacrebleu.corpus_bleu(list(predictions), [list(references)]).score)


def embedding_similarity(
    predictions: Sequence[str],
    references: Sequence[str],
    encode: Callable[[list[str]], np.ndarray],
) -> float:
    """Mean cosine similarity of each reply to its reference.

    Args:
        predictions: Replies.
        references: Reference replies, same order.
        encode: Returns one L2-normalised embedding per text.

    Returns:
        The mean similarity, 0 for no replies.
    """
    if not predictions:
        return 0.0
    a = encode(list(predictions))
    b = encode(list(references))
    return float(np.mean(np.sum(a * b, axis=1)))


def leak_rate(replies: Sequence[str], leaks: Leaks) -> float:
    """Share of replies in which ``leaks`` finds PII or a placeholder."""
    if not replies:
        return 0.0
    return sum(1 for reply in replies if leaks(reply)) / len(replies)


def length_compliance(
    replies: Sequence[str], styles: ChannelStyles, channels: Sequence[str]
) -> dict[str, float]:
    """Per channel, the share of replies the adapter sends without shortening them."""
    result: dict[str, float] = {}
    for channel in channels:
        fits = [not adapt_reply(reply, channel, styles).shortened for reply in replies]
        result[channel] = sum(fits) / len(fits) if fits else 0.0
    return result


def score_replies(
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    encode: Callable[[list[str]], np.ndarray],
    leaks: Leaks,
    styles: ChannelStyles,
    channels: Sequence[str],
) -> ReplyScores:
    """Compute every reply metric for one system."""
    return ReplyScores(
        rouge_l=rouge_l(predictions, references),
        bleu=bleu(predictions, references),
        similarity=embedding_similarity(predictions, references, encode),
        leak_rate=leak_rate(predictions, leaks),
        length_compliance=length_compliance(predictions, styles, channels),
    )
