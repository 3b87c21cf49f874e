"""Hybrid retrieval over knowledge chunks: BM25 and MiniLM vectors, fused by reciprocal rank.

:class:`KnowledgeIndex` asks both retrievers for their best :data:`CANDIDATES` chunks
(:mod:`bot.knowledge.lexical`, :mod:`bot.knowledge.vectors`) and fuses the two rankings
with reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009)::

    score(chunk) = sum over the retrievers that found it of 1 / (RRF_K + rank)

with ranks from 1 and ``RRF_K = 60``, the constant of the original paper and of most
search engines that offer hybrid search. RRF uses ranks only, so BM25 scores (unbounded,
corpus-dependent) and cosines (-1 to 1) need no calibration against each other. With at
most 61 candidates per retriever a chunk found by both always ranks above a chunk found
by one (``2 / (60 + 61) > 1 / (60 + 1)``). Ties go to the better dense rank, then the
lower row. A weighted fusion would need tuning on the sample help centre's questions;
plain RRF needs none.

Each :class:`Hit` carries both retrievers' ranks and scores and the dense cosine of the
query to the chunk and the share of the query's words it holds, computed for every hit
(the answer gate reads both); whether a hit is a confident match is the gate's decision,
not the index's.

A saved index is a folder: ``lexical.sqlite3`` (the chunks and their FTS5 index),
``vectors.npy`` (one unit row per chunk), ``knowledge_index.json`` (format version,
counts, embedding dimension and model name) and, when one was fitted for this knowledge
base, ``answerability.json`` (:mod:`bot.knowledge.answerability`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.knowledge.answerability import ANSWERABILITY_FILE, AnswerabilityModel, read_answerability
from bot.knowledge.chunks import Chunk
from bot.knowledge.lexical import LEXICAL_FILE, LexicalIndex
from bot.knowledge.vectors import VECTORS_FILE, VectorIndex
from common.embeddings import Embedder
from common.errors import ConfigError, TrainingDataError

logger = logging.getLogger(__name__)

META_FILE = "knowledge_index.json"
FORMAT_VERSION = 1
RRF_K = 60
CANDIDATES = 50
MAX_QUERY_CHARS = 1000
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

_WORD = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class Hit:
    """One chunk found for a query.

    Attributes:
        chunk: The chunk.
        score: Its fused (RRF) score; higher is better.
        cosine: Cosine similarity of the query's vector to the chunk's, whether or not the
            dense retriever ranked it.
        lexical_rank: Its rank (from 1) among the lexical candidates; None if not among them.
        lexical_score: Its BM25 score; None if not among the lexical candidates.
        dense_rank: Its rank (from 1) among the dense candidates; None if not among them.
        dense_score: Its cosine when among the dense candidates, else None.
        coverage: The IDF-weighted share of the query's words the chunk holds
            (:meth:`~bot.knowledge.lexical.LexicalIndex.coverage`); None when not measured.
    """

    chunk: Chunk
    score: float
    cosine: float
    lexical_rank: int | None
    lexical_score: float | None
    dense_rank: int | None
    dense_score: float | None
    coverage: float | None = None


def rrf_fuse(
    rankings: Sequence[Sequence[int]], k: int = RRF_K
) -> list[tuple[int, float, list[int | None]]]:
    """Fuse rankings by reciprocal rank.

    Args:
        rankings: Each retriever's rows, best first.
        k: The RRF constant.

    Returns:
        ``(row, score, ranks)`` for every row found, best first; ``ranks`` holds the row's
        rank (from 1) in each input ranking, or None. Ties go to the better rank in the
        last ranking, then in the ones before it, then to the lower row.
    """
    ranks: dict[int, list[int | None]] = {}
    for i, ranking in enumerate(rankings):
        for rank, row in enumerate(ranking, start=1):
            ranks.setdefault(row, [None] * len(rankings))
            if ranks[row][i] is None:
                ranks[row][i] = rank
    fused = [
        (row, sum(1.0 / (k + r) for r in found if r is not None), found)
        for row, found in ranks.items()
    ]
    missing = len(ranks) + 1

    def order(item: tuple[int, float, list[int | None]]) -> tuple[float, ...]:
        row, score, found = item
        tie = [float(r) if r is not None else missing for r in reversed(found)]
        return (-score, *tie, row)

    return sorted(fused, key=order)


class KnowledgeIndex:
    """Chunks searchable by words (BM25) and by meaning (MiniLM), fused by RRF.

    Build one with :meth:`build`, or load one with :meth:`load`.

    Args:
        lexical: The chunks and their full-text index.
        vectors: One vector per chunk, same order.
        embedder: Embeds queries; the model that embedded the chunks.
        model_name: That model's name, recorded in the saved index.

    Raises:
        TrainingDataError: If the two indexes hold different numbers of chunks.
    """

    def __init__(
        self, lexical: LexicalIndex, vectors: VectorIndex, embedder: Embedder, model_name: str
    ) -> None:
        if len(lexical) != len(vectors):
            raise TrainingDataError(
                f"knowledge index: {len(lexical)} chunks but {len(vectors)} vectors"
            )
        self._lexical = lexical
        self._vectors = vectors
        self._embedder = embedder
        self.model_name = model_name
        self.answerability: AnswerabilityModel | None = None
        """The answer gate's answerability model fitted for this knowledge base, if any
        (:func:`bot.knowledge.answerability.read_answerability`); saved and loaded with it."""

    @classmethod
    def build(
        cls,
        chunks: Sequence[Chunk],
        embedder: Embedder,
        vectors: np.ndarray | None = None,
        *,
        model_name: str = DEFAULT_MODEL_NAME,
    ) -> KnowledgeIndex:
        """Index chunks.

        Args:
            chunks: The chunks (``chunks.jsonl`` in order, e.g.).
            embedder: Embeds the chunks when ``vectors`` is None, and every query.
            vectors: Precomputed embeddings, one row per chunk in the same order (the
                knowledge ingest step's, so nothing is embedded twice).
            model_name: The embedding model's name, recorded in the saved index.

        Returns:
            The index.

        Raises:
            TrainingDataError: If ``vectors`` does not have one row per chunk, or two chunks
                share a ``chunk_id``.
        """
        if vectors is None:
            vectors = np.asarray(embedder.encode([embedding_text(c) for c in chunks]))
        elif len(vectors) != len(chunks):
            raise TrainingDataError(
                f"knowledge index: {len(chunks)} chunks but {len(vectors)} precomputed vectors"
            )
        dense = VectorIndex(vectors)
        lexical = LexicalIndex.build(chunks)
        logger.info("Built a knowledge index of %d chunks (dim %d).", len(chunks), dense.dim)
        return cls(lexical, dense, embedder, model_name)

    def __len__(self) -> int:
        return len(self._lexical)

    @property
    def embedder(self) -> Embedder:
        """The query encoder (the model that embedded the chunks)."""
        return self._embedder

    @property
    def lexical(self) -> LexicalIndex:
        """The lexical retriever alone (and the chunk store)."""
        return self._lexical

    @property
    def vectors(self) -> VectorIndex:
        """The dense retriever alone."""
        return self._vectors

    @property
    def dim(self) -> int:
        """The embedding dimension."""
        return self._vectors.dim

    def meta(self) -> dict[str, Any]:
        """The index's description, as saved in ``knowledge_index.json``."""
        return {
            "format": FORMAT_VERSION,
            "chunks": len(self),
            "documents": self._lexical.document_count(),
            "dim": self.dim,
            "model": self.model_name,
            "fusion": {"method": "rrf", "k": RRF_K, "candidates": CANDIDATES},
        }

    def save(self, folder: Path) -> None:
        """Write the index into a folder (created if missing).

        Args:
            folder: The target folder.
        """
        folder.mkdir(parents=True, exist_ok=True)
        self._lexical.save(folder / LEXICAL_FILE)
        self._vectors.save(folder / VECTORS_FILE)
        meta = json.dumps(self.meta(), indent=2)
        (folder / META_FILE).write_text(meta + "\n", encoding="utf-8")
        if self.answerability is not None:
            self.answerability.save(folder / ANSWERABILITY_FILE)

    @classmethod
    def load(cls, folder: Path, embedder: Embedder) -> KnowledgeIndex:
        """Read an index written by :meth:`save`; the lexical index is opened read-only.

        Args:
            folder: The folder.
            embedder: Embeds queries; must be the model that embedded the chunks.

        Returns:
            The index.

        Raises:
            ConfigError: If the folder holds no index, its format is unknown, its files
                disagree, or the embedder's dimension is not the index's.
        """
        meta = read_meta(folder)
        vectors = VectorIndex.load(folder / VECTORS_FILE)
        if vectors.dim != meta["dim"] or len(vectors) != meta["chunks"]:
            raise ConfigError(f"{folder / VECTORS_FILE} does not match {META_FILE}")
        dim = embedder_dim(embedder)
        if dim != vectors.dim:
            raise ConfigError(
                f"the knowledge index in {folder} holds {vectors.dim}-dimensional vectors "
                f"({meta['model']}), but the embedder gives {dim} dimensions: rebuild the "
                "index with this embedder, or use the model it was built with"
            )
        lexical = LexicalIndex.open(folder / LEXICAL_FILE)
        if len(lexical) != meta["chunks"]:
            lexical.close()
            raise ConfigError(f"{folder / LEXICAL_FILE} does not match {META_FILE}")
        logger.info("Loaded a knowledge index of %d chunks.", len(lexical))
        index = cls(lexical, vectors, embedder, str(meta["model"]))
        try:
            index.answerability = read_answerability(folder)
        except ConfigError:
            index.close()
            raise
        return index

    def close(self) -> None:
        """Release the lexical index's database connection."""
        self._lexical.close()

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Return the ``k`` best chunks for a query, best first.

        Args:
            query: Customer text; only its first :data:`MAX_QUERY_CHARS` characters count.
            k: How many hits (fewer when fewer chunks match).

        Returns:
            The hits; empty when the query has no letter or digit, the index is empty, or
            ``k < 1``.
        """
        query = query[:MAX_QUERY_CHARS]
        if k < 1 or not len(self) or not _WORD.search(query):
            return []
        depth = max(k, CANDIDATES)
        lexical = self._lexical.search(query, depth)
        vector = np.asarray(self._embedder.encode([query]), dtype=np.float32)[0]
        dense = self._vectors.search(vector, depth)
        fused = rrf_fuse([[row for row, _ in lexical], [row for row, _ in dense]])[:k]
        rows = [row for row, _, _ in fused]
        chunks = self._lexical.chunks(rows)
        cosines = self._vectors.cosines(vector, rows)
        coverages = self._lexical.coverage(query, rows)
        bm25 = dict(lexical)
        dense_scores = dict(dense)
        return [
            Hit(
                chunk=chunk,
                score=score,
                cosine=cosine,
                lexical_rank=ranks[0],
                lexical_score=bm25.get(row),
                dense_rank=ranks[1],
                dense_score=dense_scores.get(row),
                coverage=coverage,
            )
            for (row, score, ranks), chunk, cosine, coverage in zip(
                fused, chunks, cosines, coverages, strict=True
            )
        ]


def embedding_text(chunk: Chunk) -> str:
    """The text a chunk is embedded from (:meth:`Chunk.embedding_text`).

    Args:
        chunk: The chunk.

    Returns:
        Its title and heading path, a blank line, then its text.
    """
    return chunk.embedding_text()


def embedder_dim(embedder: Embedder) -> int:
    """Return an embedder's output dimension (its ``dimension`` if it has one, else probed).

    Args:
        embedder: The embedder.

    Returns:
        The dimension.
    """
    dimension = getattr(embedder, "dimension", None)
    if isinstance(dimension, int) and dimension > 0:
        return dimension
    return int(np.asarray(embedder.encode(["dimension probe"])).shape[1])


def read_meta(folder: Path) -> dict[str, Any]:
    """Return a saved index's ``knowledge_index.json``.

    Args:
        folder: The index folder.

    Returns:
        The metadata.

    Raises:
        ConfigError: If it is missing, unreadable, or of another format version.
    """
    path = folder / META_FILE
    if not path.is_file():
        raise ConfigError(f"no knowledge index in {folder} ({META_FILE} is missing)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot read {path}: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ConfigError(f"{path}: knowledge index format {found} is not {FORMAT_VERSION}")
    for key, kind in (("chunks", int), ("dim", int), ("model", str)):
        if not isinstance(meta.get(key), kind):
            raise ConfigError(f"{path}: {key!r} is missing or not a {kind.__name__}")
    return meta
