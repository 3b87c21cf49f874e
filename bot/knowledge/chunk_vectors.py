"""The chunk vectors file: one MiniLM vector per distinct chunk text, keyed by its hash.

``python -m training kb`` writes two files beside ``chunks.jsonl``:

- ``embeddings.npy``: a float32 matrix, one unit-length row per distinct chunk text;
- ``embeddings.json``: ``{"model", "dimension", "count", "digest", "rows"}``, where ``rows``
  maps a chunk's :attr:`~bot.knowledge.chunks.Chunk.embedding_key` (the hash of the
  title, heading path and text it is embedded from) to its row, and ``digest`` is
  the BLAKE2b of the matrix, so that a matrix and an index from different runs are never
  paired.

The index looks a chunk's vector up by ``chunk.embedding_key``; ingest reuses the vectors of
unchanged texts on a re-run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import TrainingDataError

VECTORS_FILE = "embeddings.npy"
VECTORS_INDEX_FILE = "embeddings.json"


@dataclass(frozen=True)
class ChunkVectors:
    """Vectors of chunk texts.

    Attributes:
        model: The embedder that made them (vectors of different models never mix).
        matrix: Float32, shape ``(count, dimension)``.
        rows: Chunk hash -> row of ``matrix``.

    """

    model: str
    matrix: np.ndarray
    rows: dict[str, int]

    def __post_init__(self) -> None:
        if self.matrix.ndim != 2 or self.matrix.dtype != np.float32:
            raise TrainingDataError("chunk vectors must be a 2-D float32 matrix")
        if sorted(self.rows.values()) != list(range(len(self.matrix))):
            raise TrainingDataError("chunk vector rows must number the matrix rows once each")

    @property
    def dimension(self) -> int:
        """The vector size."""
        return int(self.matrix.shape[1])

    def vector(self, chunk_hash: str) -> np.ndarray | None:
        """Return the vector of a chunk text, or None if it has none.

        Args:
            chunk_hash: The chunk's ``embedding_key``.

        Returns:
            A row of the matrix.

        """
        row = self.rows.get(chunk_hash)
        return None if row is None else self.matrix[row]


def matrix_digest(matrix: np.ndarray) -> str:
    """Return the BLAKE2b digest of a matrix's shape and bytes."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(matrix.shape).encode())
    digest.update(np.ascontiguousarray(matrix).tobytes())
    return digest.hexdigest()


def write_chunk_vectors(folder: Path, vectors: ChunkVectors) -> None:
    """Write the two files, each atomically (the index last, naming the matrix's digest).

    Args:
        folder: The knowledge output folder.
        vectors: The vectors.

    """
    folder.mkdir(parents=True, exist_ok=True)
    matrix_path = folder / VECTORS_FILE
    tmp = matrix_path.with_suffix(".npy.tmp")
    with tmp.open("wb") as f:
        np.save(f, vectors.matrix, allow_pickle=False)
    tmp.replace(matrix_path)
    index = {
        "model": vectors.model,
        "dimension": vectors.dimension,
        "count": len(vectors.matrix),
        "digest": matrix_digest(vectors.matrix),
        "rows": vectors.rows,
    }
    index_path = folder / VECTORS_INDEX_FILE
    tmp = index_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(index, indent=0) + "\n", encoding="utf-8")
    tmp.replace(index_path)


def read_chunk_vectors(folder: Path) -> ChunkVectors:
    """Read the vectors written by :func:`write_chunk_vectors`.

    Args:
        folder: The knowledge output folder.

    Returns:
        The vectors.

    Raises:
        TrainingDataError: If a file is missing, malformed, or the two do not belong
            together.

    """
    index_path, matrix_path = folder / VECTORS_INDEX_FILE, folder / VECTORS_FILE
    if not index_path.is_file() or not matrix_path.is_file():
        raise TrainingDataError(f"no chunk vectors in {folder} (run `python -m training kb`)")
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        matrix = np.load(matrix_path, allow_pickle=False)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise TrainingDataError(f"unreadable chunk vectors in {folder}: {e}") from e
    if not isinstance(index, dict) or not isinstance(index.get("rows"), dict):
        raise TrainingDataError(f"{index_path}: not a chunk vector index")
    if index.get("digest") != matrix_digest(matrix):
        raise TrainingDataError(f"{matrix_path} does not match {index_path}")
    rows = index["rows"]
    if not all(isinstance(k, str) and isinstance(v, int) for k, v in rows.items()):
        raise TrainingDataError(f"{index_path}: rows must map hashes to row numbers")
    return ChunkVectors(str(index.get("model", "")), matrix, dict(rows))
