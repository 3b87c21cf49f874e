"""Sentence embeddings for clustering: batched all-MiniLM-L6-v2, L2-normalised."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from common.errors import ConfigError
from common.pretrained import ensure_offline, minilm_path

if TYPE_CHECKING:
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


class MiniLMEmbedder:
    """The packaged sentence-transformers all-MiniLM-L6-v2, loaded on first use.

    Args:
        model_path: A sentence-transformers folder; default: :func:`common.pretrained.minilm_path`.
        batch_size: Texts per forward pass.
        device: ``cpu``, ``cuda`` or ``auto`` (CUDA when present).
    """

    def __init__(
        self, model_path: Path | None = None, *, batch_size: int = 64, device: str = "cpu"
    ) -> None:
        if batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        self._path = model_path
        self._batch_size = batch_size
        self._device = device
        self._model: SentenceTransformer | None = None

    def _load(self) -> SentenceTransformer:
        if self._model is None:
            ensure_offline()
            import torch
            from sentence_transformers import SentenceTransformer

            device = self._device
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            path = self._path or minilm_path()
            try:
                self._model = SentenceTransformer(str(path), device=device)
            except (OSError, ValueError) as e:
                raise ConfigError(f"cannot load the sentence encoder from {path}: {e}") from e
            logger.info("loaded sentence encoder on %s", device)
        return self._model

    @property
    def dimension(self) -> int:
        """The embedding size."""
        dim = self._load().get_sentence_embedding_dimension()
        return int(dim) if dim is not None else 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches.

        Args:
            texts: The texts.

        Returns:
            A float32 array of shape ``(len(texts), dim)`` with unit-length rows.
        """
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
