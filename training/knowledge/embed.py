"""Incremental embedding: only chunk texts whose hash is new are sent to the encoder.

A chunk is embedded from :meth:`~bot.knowledge.chunks.Chunk.embedding_text` (title,
heading path and passage), the same text the knowledge index embeds, and its vector is
keyed by :attr:`~bot.knowledge.chunks.Chunk.embedding_key`.

The previous run's vectors (:mod:`bot.knowledge.chunk_vectors`) are reused for every hash
they hold, provided they were made by the same model and the files are intact; otherwise
everything is embedded again, and the report says why. Identical texts (a disclaimer that
closes every article) share one row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.knowledge.chunk_vectors import (
    VECTORS_FILE,
    VECTORS_INDEX_FILE,
    ChunkVectors,
    read_chunk_vectors,
    write_chunk_vectors,
)
from bot.knowledge.chunks import Chunk
from common.embeddings import Embedder, encode_matrix
from common.errors import TrainingDataError

logger = logging.getLogger(__name__)

MINILM_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class EmbedStats:
    """What the embedding step did.

    Attributes:
        embedded: Distinct texts sent to the encoder.
        reused: Distinct texts whose previous vector was kept.
        fresh_reason: Why no previous vector could be reused ("" if they could, or if
            there was no previous run).

    """

    embedded: int
    reused: int
    fresh_reason: str = ""


def embed_chunks(
    chunks: Sequence[Chunk], out: Path, embedder: Embedder, model_name: str
) -> EmbedStats:
    """Embed the chunks' texts, reusing the previous run's vectors, and write the files.

    Args:
        chunks: All chunks of this run.
        out: The output folder (it may hold the previous run's vectors).
        embedder: The sentence encoder.
        model_name: Identifies the encoder; vectors of another model are not reused.

    Returns:
        How many texts were embedded and how many vectors reused.

    Raises:
        TrainingDataError: If the encoder returns the wrong number of vectors.

    """
    texts: dict[str, str] = {}
    for chunk in chunks:
        texts.setdefault(chunk.embedding_key, chunk.embedding_text())
    previous, reason = _previous(out, model_name)
    reusable = previous.rows if previous is not None else {}
    todo = [h for h in texts if h not in reusable]
    new = encode_matrix(embedder, [texts[h] for h in todo])
    if previous is not None and todo and new.shape[1] != previous.dimension:
        reason = f"the vector size changed from {previous.dimension} to {new.shape[1]}"
        previous, reusable, todo = None, {}, list(texts)
        new = encode_matrix(embedder, [texts[h] for h in todo])
    old = previous.matrix if previous is not None else np.zeros((0, 0), dtype=np.float32)
    dimension = new.shape[1] if todo else old.shape[1]
    matrix = np.empty((len(texts), dimension), dtype=np.float32)
    rows: dict[str, int] = {}
    fresh = {h: i for i, h in enumerate(todo)}
    for row, chunk_hash in enumerate(texts):
        rows[chunk_hash] = row
        if chunk_hash in fresh:
            matrix[row] = new[fresh[chunk_hash]]
        else:
            matrix[row] = old[reusable[chunk_hash]]
    write_chunk_vectors(out, ChunkVectors(model_name, matrix, rows))
    stats = EmbedStats(embedded=len(todo), reused=len(texts) - len(todo), fresh_reason=reason)
    logger.info("embedded %d chunk texts, reused %d", stats.embedded, stats.reused)
    return stats


def _previous(out: Path, model_name: str) -> tuple[ChunkVectors | None, str]:
    try:
        previous = read_chunk_vectors(out)
    except TrainingDataError as e:
        if (out / VECTORS_INDEX_FILE).exists() or (out / VECTORS_FILE).exists():
            logger.warning("previous vectors not reused: %s", e.message)
            return None, "the previous vectors could not be read"
        return None, ""
    if previous.model != model_name:
        return None, f"the previous vectors were made by another model ({previous.model})"
    return previous, ""
