"""Dense retrieval: exact cosine search over the chunks' MiniLM vectors with plain numpy.

The vectors are one float32 matrix with a unit-length row per chunk (row ``i`` is the
chunk at position ``i`` of the lexical index). A query is one matrix-vector product and an
``argpartition`` for the top ``k``: exact, no training, no extra dependency.

Why not faiss or usearch: the issue allows a vector library only where a benchmark shows
it beats numpy at the claimed scale. At 100,000 chunks of 384 dimensions the numpy search
takes 11.4 ms p50 and 12.3 ms p95 on the 2-core benchmark machine (docs/knowledge.md,
"Retrieval"): less than embedding the query with MiniLM (15 ms p50) and a seventh of
BM25's p95, so an approximate index could save at most about a tenth of a fused query;
neither library is installed in this project either.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.errors import ConfigError, TrainingDataError

VECTORS_FILE = "vectors.npy"


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Return vectors as a C-contiguous float32 matrix with unit-length rows.

    Args:
        vectors: A ``(n, dim)`` array (a ``(0, dim)`` one is fine).

    Returns:
        The normalised float32 matrix.

    Raises:
        TrainingDataError: If the array is not two-dimensional, has no columns, or has a
            non-finite or all-zero row.
    """
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise TrainingDataError(f"knowledge vectors must be a (n, dim) matrix, not {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise TrainingDataError("knowledge vectors hold a NaN or an infinity")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if (norms == 0).any():
        raise TrainingDataError("a knowledge vector is all zeros")
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


class VectorIndex:
    """Unit vectors, one per chunk, searched by cosine similarity.

    Args:
        vectors: A ``(n, dim)`` matrix; its rows are normalised (:func:`unit_rows`).
    """

    def __init__(self, vectors: np.ndarray) -> None:
        self._matrix = unit_rows(vectors)

    def __len__(self) -> int:
        return int(self._matrix.shape[0])

    @property
    def dim(self) -> int:
        """The vectors' dimension."""
        return int(self._matrix.shape[1])

    def cosines(self, query: np.ndarray, rows: list[int]) -> list[float]:
        """Return the cosine similarity of a unit query vector to the given rows.

        Args:
            query: A unit vector of :attr:`dim` floats.
            rows: Row numbers.

        Returns:
            One cosine per row, in order.
        """
        if not rows:
            return []
        q = self._query(query)
        return [float(x) for x in self._matrix[rows] @ q]

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Return the ``k`` rows most similar to a query vector.

        Args:
            query: A vector of :attr:`dim` floats (normalised here; an all-zero vector
                matches nothing).
            k: How many to return (more than the index holds returns them all).

        Returns:
            ``(row, cosine)`` pairs, best first; ties go to the lower row.

        Raises:
            ConfigError: If the query's dimension is not the index's.
        """
        q = self._query(query)
        n = len(self)
        if k < 1 or n == 0 or not q.any():
            return []
        scores = self._matrix @ q
        if k < n:
            kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
            top = np.flatnonzero(scores >= kth)  # every row tied with the k-th, too
        else:
            top = np.arange(n)
        order = top[np.lexsort((top, -scores[top]))][:k]
        return [(int(row), float(scores[row])) for row in order]

    def _query(self, query: np.ndarray) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ConfigError(
                f"query vector has {q.shape[0]} dimensions, the knowledge index {self.dim}"
            )
        norm = float(np.linalg.norm(q))
        return q / norm if norm > 0 else q

    def save(self, path: Path) -> None:
        """Write the matrix as a ``.npy`` file (replaced atomically if it exists).

        Args:
            path: The target file, usually ``<folder>/vectors.npy``.
        """
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            np.save(f, self._matrix, allow_pickle=False)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        """Read a matrix written by :meth:`save`.

        Args:
            path: The ``.npy`` file.

        Returns:
            The index.

        Raises:
            ConfigError: If the file is missing or unreadable.
        """
        if not path.is_file():
            raise ConfigError(f"no knowledge vectors at {path}")
        try:
            matrix = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read the knowledge vectors {path}: {e}") from e
        try:
            return cls(matrix)
        except TrainingDataError as e:
            raise ConfigError(f"{path}: {e.message}") from e
