"""Duplicate removal: exact (normalised-text hash) first, then MiniLM near duplicates.

Near duplicates are found within one group (an intent, or the unlabelled pool): examples
are embedded in batches with all-MiniLM-L6-v2, normalised, and compared block by block
against the examples already kept, so memory stays at one block times the kept set.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bot.errors import ModelPackageMissingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

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


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one normalised row per text (float32)."""
        ...


class MiniLMEmbedder:
    """The packaged all-MiniLM-L6-v2 through sentence-transformers (loaded on first use).

    Args:
        batch_size: Texts per forward pass.
        progress: Whether to show sentence-transformers' progress bar.

    """

    def __init__(self, batch_size: int = 128, progress: bool = False) -> None:
        self._batch_size = batch_size
        self._progress = progress
        self._model: SentenceTransformer | None = None

    @property
    def model(self) -> SentenceTransformer:
        """The model, loaded from the installed package on first access."""
        if self._model is None:
            from bot.pretrained import minilm_path

            # transformers would otherwise import TensorFlow too (memory, start-up time).
            os.environ.setdefault("USE_TF", "0")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise ModelPackageMissingError(
                    "sentence-transformers", "near-duplicate detection"
                ) from e
            self._model = SentenceTransformer(str(minilm_path()), device="cpu")
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return normalised float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=self._progress,
        )
        return np.asarray(vectors, dtype=np.float32)


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
