"""Duplicate removal: exact (normalised-text hash) first, then MiniLM near duplicates.

Near duplicates are found within one group (an intent, or the unlabelled pool): examples
are embedded in batches with all-MiniLM-L6-v2, normalised, and compared block by block
against the examples already kept, so memory stays at one block times the kept set.

What is embedded: the NLU examples (one pass per intent) and the unlabelled openers, each
distinct normalised text once (exact duplicates are dropped before, across intents), so a
hash-to-vector cache would never hit within a run. Generation pairs are not embedded: they
are de-duplicated exactly only, since two pairs with near-identical customer messages but
different context or agent replies are different training signal for the generator, and
embedding ~700-character agent replies would cost more than everything else together.

Speed (the embedding was most of a 100,000-conversation run): see
:func:`near_dedupe_embedder` and :class:`common.embeddings.MiniLMEmbedder`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from common.embeddings import Embedder, MiniLMEmbedder

logger = logging.getLogger(__name__)

_PUNCT_RE = re.compile(r"[^\w\s\[\]]+")


def normalise(text: str) -> str:
    """Fold a text for exact-duplicate matching: NFKC, case, punctuation and spacing.

    Args:
        text: The text.

    Returns:
        The folded text; two texts with the same fold are exact duplicates.

    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_PUNCT_RE.sub(" ", folded).split())


def text_hash(text: str) -> bytes:
    """Return a short digest of the normalised text (what exact dedupe remembers)."""
    return hashlib.blake2b(normalise(text).encode(), digest_size=16).digest()


def near_dedupe_embedder(precision: str = "auto") -> MiniLMEmbedder:
    """The packaged MiniLM tuned for near-duplicate detection on the CPU.

    128 word pieces, bfloat16 autocast where the CPU has it natively, one torch thread and
    batches of 128: :class:`common.embeddings.MiniLMEmbedder` gives the measurements.

    Args:
        precision: ``"auto"``, ``"bf16"`` or ``"fp32"`` (:mod:`common.precision`).

    Returns:
        The embedder (the model loads on first use).

    Raises:
        ConfigError: On an unknown precision.
    """
    return MiniLMEmbedder(batch_size=128, max_seq_length=128, precision=precision, threads=1)


def near_duplicate_mask(vectors: np.ndarray, threshold: float, block: int = 2048) -> np.ndarray:
    """Mark the rows to keep: a row is dropped if an earlier kept row is that similar.

    Greedy in row order, so the first of a group of near duplicates stays. Rows are
    compared block by block with the kept rows, then within the block.

    Args:
        vectors: L2-normalised rows.
        threshold: Cosine similarity at or above which a row is a near duplicate.
        block: Rows per block.

    Returns:
        A boolean mask of the rows kept.

    """
    n = len(vectors)
    keep = np.zeros(n, dtype=bool)
    kept_rows: list[np.ndarray] = []
    for start in range(0, n, block):
        chunk = vectors[start : start + block]
        dup = np.zeros(len(chunk), dtype=bool)
        if kept_rows:
            kept = np.concatenate(kept_rows)
            for k in range(0, len(kept), block):
                dup |= (chunk @ kept[k : k + block].T).max(axis=1) >= threshold
        inner = chunk @ chunk.T
        chunk_keep = np.zeros(len(chunk), dtype=bool)
        for i in range(len(chunk)):
            if dup[i]:
                continue
            if chunk_keep[:i].any() and (inner[i, :i][chunk_keep[:i]] >= threshold).any():
                continue
            chunk_keep[i] = True
        keep[start : start + len(chunk)] = chunk_keep
        kept_rows.append(chunk[chunk_keep])
    return keep


def near_dedupe(
    texts: Sequence[str], embedder: Embedder, threshold: float, block: int = 2048
) -> list[int]:
    """Return the indices of the texts to keep after near-duplicate removal.

    Args:
        texts: The texts of one group, in input order.
        embedder: The sentence encoder.
        threshold: Cosine similarity threshold.
        block: Rows per comparison block.

    Returns:
        Indices into ``texts``, ascending.

    """
    if len(texts) < 2:
        return list(range(len(texts)))
    mask = near_duplicate_mask(embedder.encode(texts), threshold, block)
    return [int(i) for i in np.flatnonzero(mask)]
