"""Sentence embeddings: the :class:`Embedder` seam and the packaged all-MiniLM-L6-v2.

Grounding (past agent replies for the generator), intent discovery (clustering) and
near-duplicate removal (training data preparation) all embed short customer texts with the
same model. They depend on the :class:`Embedder` protocol, so tests pass small fakes, and
use :class:`MiniLMEmbedder` in production, each with the options it was tuned with.
:func:`load_sentence_transformer` is the one place that loads the packaged model
(offline: the weights come from an installed package, never from a model hub).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from common.errors import ConfigError, ModelPackageMissingError, TrainingDataError

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into one L2-normalised vector each."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Args:
            texts: The texts.

        Returns:
            A float32 array of shape ``(len(texts), dim)`` with unit-length rows.
        """
        ...


def load_sentence_transformer(
    model_path: Path | None = None, device: str = "cpu"
) -> SentenceTransformer:
    """Load a sentence-transformers model, by default the packaged all-MiniLM-L6-v2.

    Args:
        model_path: A sentence-transformers folder; default:
            :func:`common.pretrained.minilm_path`.
        device: A torch device name (``cpu``, ``cuda``, ``cuda:1``).

    Returns:
        The model, in evaluation mode on ``device``.

    Raises:
        ModelPackageMissingError: If sentence-transformers or the packaged model is missing.
        ConfigError: If the folder holds no loadable model.
    """
    from common.pretrained import ensure_offline, minilm_path

    ensure_offline()
    # transformers would otherwise import TensorFlow too (memory, start-up time).
    os.environ.setdefault("USE_TF", "0")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ModelPackageMissingError("sentence-transformers", "sentence embeddings") from e
    path = model_path or minilm_path()
    try:
        model = SentenceTransformer(str(path), device=device)
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot load the sentence encoder from {path}: {e}") from e
    logger.info("Loaded the sentence encoder on %s.", device)
    return model


class MiniLMEmbedder:
    """The packaged all-MiniLM-L6-v2 through sentence-transformers, loaded on first use.

    The defaults encode the way grounding and intent discovery do: float32, the model's
    256 word pieces, torch's own thread count. Near-duplicate removal
    (:func:`training.prepare.dedupe.near_dedupe_embedder`) is tuned for the CPU, measured
    on the 2-core benchmark machine:

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
    - One torch thread. With two, 3,000 Bitext requests took 35.2 s instead of 5.9 s on the
      2-core benchmark machine, which always shares its cores with other jobs: OpenMP
      threads wait for each other whenever one is descheduled. On an idle machine two
      threads would be at most ~2x faster; one thread never falls off that cliff.
    - Batches of 128 (sentence-transformers sorts them by length); every call runs in
      inference mode.

    Rows are normalised in float32 after encoding, so every option gives unit-length rows.

    Args:
        model_path: A sentence-transformers folder; default: the packaged MiniLM.
        batch_size: Texts per forward pass.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when present).
        max_seq_length: Word pieces per text (longer texts are truncated); None keeps the
            model's own limit.
        precision: ``"fp32"``, ``"bf16"`` or ``"auto"`` (bf16 where the device supports it
            natively, else fp32) (:mod:`common.precision`).
        threads: Torch intra-op threads while encoding (restored afterwards); None keeps
            torch's setting (one per core).
        progress: Whether to show sentence-transformers' progress bar.

    Raises:
        ConfigError: On a batch size below 1 or an unknown precision.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        max_seq_length: int | None = None,
        precision: str = "fp32",
        threads: int | None = None,
        progress: bool = False,
    ) -> None:
        from common.precision import validate_precision

        if batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        validate_precision(precision)
        self._path = model_path
        self._batch_size = batch_size
        self._device_name = device
        self._max_seq_length = max_seq_length
        self._precision = precision
        self._threads = threads
        self._progress = progress
        self._model: SentenceTransformer | None = None

    @functools.cached_property
    def device(self) -> torch.device:
        """The torch device the model runs on (``auto`` resolved on first use)."""
        from common.device import resolve_device

        return resolve_device(self._device_name)

    @property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers model, loaded on first access."""
        if self._model is None:
            model = load_sentence_transformer(self._path, str(self.device))
            if self._max_seq_length is not None:
                model.max_seq_length = self._max_seq_length
            self._model = model
            logger.info("MiniLM embedder: %s, %s.", self.device, "bf16" if self.bf16 else "fp32")
        return self._model

    def load(self) -> MiniLMEmbedder:
        """Load the model now rather than on the first :meth:`encode` (for servers).

        Returns:
            The embedder itself.
        """
        _ = self.model
        return self

    @functools.cached_property
    def bf16(self) -> bool:
        """Whether encoding runs under bfloat16 autocast (decided once, on first use)."""
        from common.precision import use_bf16

        return use_bf16(self._precision, self.device)

    @property
    def dimension(self) -> int:
        """The embedding size."""
        dim = self.model.get_sentence_embedding_dimension()
        return int(dim) if dim is not None else 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches.

        Args:
            texts: The texts.

        Returns:
            A float32 array of shape ``(len(texts), dim)`` with unit-length rows.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        model = self.model
        previous = torch.get_num_threads()
        if self._threads is not None:
            torch.set_num_threads(self._threads)
        try:
            with (
                torch.inference_mode(),
                torch.autocast(self.device.type, torch.bfloat16, enabled=self.bf16),
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
        return np.ascontiguousarray(vectors.cpu().numpy(), dtype=np.float32)


def encode_matrix(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed texts as one float32 matrix, checking the embedder kept its side of the protocol.

    Args:
        embedder: Any :class:`Embedder`.
        texts: The texts; an empty list gives a ``(0, 0)`` matrix without calling it.

    Returns:
        One row per text.

    Raises:
        TrainingDataError: If the embedder returned anything but one row per text.
    """
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(texts):
        raise TrainingDataError(f"the embedder returned {vectors.shape} for {len(texts)} texts")
    return vectors
