"""The inputs of ``training.evaluate answers``: the question set and the knowledge base.

The question set is ``data/knowledge_questions/questions.jsonl``'s format (its README):
one JSON object a line with ``id``, ``question``, ``article``, ``answer``, ``answerable``
and ``split`` (``dev`` or ``test``). The knowledge base is the output folder of
``python -m training kb``: ``chunks.jsonl`` and the vectors keyed by each chunk's
``embedding_key``, from which the :class:`~bot.knowledge.index.KnowledgeIndex` is built
without embedding anything again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.knowledge.answerability import read_answerability
from bot.knowledge.chunk_vectors import read_chunk_vectors
from bot.knowledge.chunks import CHUNKS_FILE, Chunk, read_chunks
from bot.knowledge.index import DEFAULT_MODEL_NAME, KnowledgeIndex, embedder_dim
from common.embeddings import Embedder
from common.errors import ConfigError, TrainingDataError
from training.knowledge.questions import SPLITS, KnowledgeQuestion, read_questions

__all__ = [
    "KnowledgeQuestion",
    "load_knowledge",
    "product_names",
    "read_questions",
    "select_questions",
]


_NUMBERED_NAME = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)?\s(?:-?\d+[A-Za-z]{0,2})(?![\w-])")


def select_questions(
    questions: Sequence[KnowledgeQuestion], split: str, limit: int = 0
) -> list[KnowledgeQuestion]:
    """Keep one half of the set, optionally only its first ``limit`` questions.

    Args:
        questions: The whole set.
        split: ``dev`` or ``test``.
        limit: At most this many, in file order (0: all).

    Returns:
        The selected questions.

    Raises:
        TrainingDataError: For an unknown split, a negative limit, or an empty selection.
    """
    if split not in SPLITS:
        raise TrainingDataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    if limit < 0:
        raise TrainingDataError("--limit must be 0 (all) or more")
    chosen = [q for q in questions if q.split == split]
    if limit:
        chosen = chosen[:limit]
    if not chosen:
        raise TrainingDataError(f"the question set has no {split} question")
    return chosen


def load_knowledge(folder: Path, embedder: Embedder) -> tuple[KnowledgeIndex, list[Chunk]]:
    """Build the knowledge index from ``python -m training kb``'s output folder.

    Args:
        folder: The folder holding ``chunks.jsonl``, ``embeddings.npy`` and
            ``embeddings.json``.
        embedder: Embeds the queries; must be the model that embedded the chunks.

    Returns:
        The index and its chunks.

    Raises:
        TrainingDataError: If a file is missing or a chunk has no stored vector.
        ConfigError: If the stored vectors' dimension is not the embedder's.
    """
    chunks = list(read_chunks(folder / CHUNKS_FILE))
    if not chunks:
        raise TrainingDataError(f"{folder / CHUNKS_FILE} holds no chunk")
    stored = read_chunk_vectors(folder)
    dim = embedder_dim(embedder)
    if dim != stored.dimension:
        raise ConfigError(
            f"the vectors in {folder} have {stored.dimension} dimensions ({stored.model}), "
            f"but the embedder gives {dim}: rebuild the knowledge base with this embedder"
        )
    rows = []
    for chunk in chunks:
        vector = stored.vector(chunk.embedding_key)
        if vector is None:
            raise TrainingDataError(
                f"chunk {chunk.chunk_id!r} has no stored vector in {folder}: rerun "
                "`python -m training kb` (without --no-embed)"
            )
        rows.append(vector)
    matrix = np.stack(rows).astype(np.float32)
    index = KnowledgeIndex.build(
        chunks, embedder, matrix, model_name=stored.model or DEFAULT_MODEL_NAME
    )
    try:
        index.answerability = read_answerability(folder)
    except ConfigError:
        index.close()
        raise
    return index, chunks


def product_names(chunks: Sequence[Chunk]) -> tuple[str, ...]:
    """Product names read from the chunks' titles: a capitalised name and a model number.

    ``Ridgeline -5 Down Sleeping Bag`` gives ``Ridgeline -5``; ``Cairn 2 and Cairn 3
    backpacking tents`` gives ``Cairn 2`` and ``Cairn 3``. Names without a number (Alder,
    Cirrus) are not taken: from a title alone they cannot be told from ordinary words
    (Returns, Sleeping), and a common word in the list would flag sound answers.

    Args:
        chunks: The knowledge base's chunks.

    Returns:
        The names, sorted, each once.
    """
    names = {m.group() for chunk in chunks for m in _NUMBERED_NAME.finditer(chunk.title)}
    return tuple(sorted(names))
