"""A chunks folder as ``python -m training kb`` writes it, made without ``training``.

Shared by the tests of :mod:`bot.knowledge.build` and the knowledge graph component.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.knowledge.chunk_vectors import ChunkVectors, write_chunk_vectors
from bot.knowledge.chunks import CHUNKS_FILE, Chunk, write_chunks
from bot.knowledge.index import DEFAULT_MODEL_NAME
from common.embeddings import Embedder


def write_chunks_folder(
    folder: Path,
    chunks: Sequence[Chunk],
    embedder: Embedder | None = None,
    model: str = DEFAULT_MODEL_NAME,
) -> Path:
    """Write ``chunks.jsonl`` and, given an embedder, the chunks' vectors.

    Vectors are keyed by ``chunk.embedding_key`` and stored in reverse chunk order, so a
    reader that pairs rows with chunks by position instead of by key gets them wrong.

    Args:
        folder: The output folder (created).
        chunks: The chunks.
        embedder: Embeds ``chunk.embedding_text()``; None writes no vectors.
        model: The model name recorded with the vectors.

    Returns:
        The folder.
    """
    write_chunks(folder / CHUNKS_FILE, chunks)
    if embedder is not None:
        texts: dict[str, str] = {}
        for chunk in chunks:
            texts.setdefault(chunk.embedding_key, chunk.embedding_text())
        keys = list(reversed(texts))
        matrix = np.asarray(embedder.encode([texts[k] for k in keys]), dtype=np.float32)
        rows = {key: row for row, key in enumerate(keys)}
        write_chunk_vectors(folder, ChunkVectors(model, matrix, rows))
    return folder


class CountingEmbedder:
    """Wraps an embedder and records every text it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self._inner.encode(texts)
