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

Speed (the embedding was most of a 100,000-conversation run): see :class:`MiniLMEmbedder`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from common.errors import ModelPackageMissingError

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

    Tuned for near-duplicate detection on the CPU:

    - ``max_seq_length`` 128 word pieces (the model's default is 256): customer messages are
      short (Bitext requests: 13 pieces on average, at most 31), so this changes nothing for
      them and halves the cost of the rare long email, whose first 128 pieces are plenty to
      tell a copy from a different message.
    - bfloat16 autocast where the CPU has native bf16 (AVX512-BF16/AMX; ``precision="auto"``):
      2.7x faster than float32 on 1,000 Bitext requests. Against float32, the cosine of
      500,000 pairs of them moved by 0.0005 on average and 0.0039 at most (0.0024 at most
      among pairs above 0.85), and 2 of the 374 pairs at or above 0.95 changed side
      (99.998% agreement). int8 dynamic quantisation of the linear layers was tried and
      rejected: about as fast, but cosines moved by 0.036 on average and 0.22 at most, and
      it saw 39 instead of 374 duplicate pairs.
    - One torch thread by default. With two, 3,000 Bitext requests took 35.2 s instead of
      5.9 s on the 2-core benchmark machine, which always shares its cores with other jobs:
      OpenMP threads wait for each other whenever one is descheduled. On an idle machine two
      threads would be at most ~2x faster; one thread never falls off that cliff.
    - Inference mode and sentence-transformers' length-sorted batches of 128.

    Args:
        batch_size: Texts per forward pass.
        progress: Whether to show sentence-transformers' progress bar.
        max_seq_length: Word pieces per text (longer texts are truncated).
        precision: ``"auto"`` (bf16 where the CPU supports it natively, else fp32),
            ``"bf16"`` or ``"fp32"`` (:mod:`common.precision`).
        threads: Torch intra-op threads while encoding (restored afterwards); None keeps
            torch's setting (one per core).

    """

    def __init__(
        self,
        batch_size: int = 128,
        progress: bool = False,
        max_seq_length: int = 128,
        precision: str = "auto",
        threads: int | None = 1,
    ) -> None:
        from common.precision import validate_precision

        validate_precision(precision)
        self._batch_size = batch_size
        self._progress = progress
        self._max_seq_length = max_seq_length
        self._precision = precision
        self._threads = threads
        self._model: SentenceTransformer | None = None

    @property
    def model(self) -> SentenceTransformer:
        """The model, loaded from the installed package on first access."""
        if self._model is None:
            from common.pretrained import minilm_path

            # transformers would otherwise import TensorFlow too (memory, start-up time).
            os.environ.setdefault("USE_TF", "0")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise ModelPackageMissingError(
                    "sentence-transformers", "near-duplicate detection"
                ) from e
            self._model = SentenceTransformer(str(minilm_path()), device="cpu")
            self._model.max_seq_length = self._max_seq_length
            logger.info("near-dedupe embedder: MiniLM, %s", "bf16" if self.bf16 else "fp32")
        return self._model

    @functools.cached_property
    def bf16(self) -> bool:
        """Whether encoding runs under bfloat16 autocast (decided once, on first use)."""
        import torch

        from common.precision import use_bf16

        return use_bf16(self._precision, torch.device("cpu"))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return normalised float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        import torch

        model = self.model
        previous = torch.get_num_threads()
        if self._threads is not None:
            torch.set_num_threads(self._threads)
        try:
            with (
                torch.inference_mode(),
                torch.autocast("cpu", torch.bfloat16, enabled=self.bf16),
            ):
                vectors = model.encode(
                    list(texts),
                    batch_size=self._batch_size,
                    convert_to_tensor=True,
                    show_progress_bar=self._progress,
                )
        finally:
            torch.set_num_threads(previous)
        vectors = torch.nn.functional.normalize(vectors.float(), dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)


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
