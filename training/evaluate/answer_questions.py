"""The inputs of ``training.evaluate answers``: the question set and the knowledge base.

The question set is ``data/knowledge_questions/questions.jsonl``'s format (its README):
one JSON object a line with ``id``, ``question``, ``article``, ``answer``, ``answerable``
and ``split`` (``dev`` or ``test``). The knowledge base is the output folder of
``python -m training kb``: ``chunks.jsonl`` and the vectors keyed by each chunk's
``embedding_key``, from which the :class:`~bot.knowledge.index.KnowledgeIndex` is built
without embedding anything again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.knowledge.chunk_vectors import read_chunk_vectors
from bot.knowledge.chunks import CHUNKS_FILE, Chunk, read_chunks
from bot.knowledge.index import DEFAULT_MODEL_NAME, KnowledgeIndex, embedder_dim
from common.embeddings import Embedder
from common.errors import ConfigError, TrainingDataError

SPLITS = ("dev", "test")

_NUMBERED_NAME = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)?\s(?:-?\d+[A-Za-z]{0,2})(?![\w-])")


@dataclass(frozen=True)
class Question:
    """One question of the set.

    Attributes:
        id: Stable id (``kq-0001``).
        question: The customer's message.
        article: The source that answers it, relative to the knowledge folder (None when
            unanswerable).
        answer: The reference answer (None when unanswerable).
        answerable: Whether the knowledge base answers it.
        split: ``dev`` or ``test``.
    """

    id: str
    question: str
    article: str | None
    answer: str | None
    answerable: bool
    split: str


def read_questions(path: Path) -> list[Question]:
    """Read a question set.

    Args:
        path: The JSONL file.

    Returns:
        The questions, in file order.

    Raises:
        TrainingDataError: If the file is missing, a line is not a question, or an id repeats.
    """
    if not path.is_file():
        raise TrainingDataError(f"no question set at {path}")
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise TrainingDataError(f"{path}:{number}: not a JSON line") from e
        question = _question(data, f"{path}:{number}")
        if question.id in seen:
            raise TrainingDataError(f"{path}:{number}: duplicate id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    return questions


def _question(data: object, where: str) -> Question:
    if not isinstance(data, dict):
        raise TrainingDataError(f"{where}: not a JSON object")
    for field in ("id", "question"):
        if not isinstance(data.get(field), str) or not data[field].strip():
            raise TrainingDataError(f"{where}: {field!r} must be a non-empty string")
    if data.get("split") not in SPLITS:
        raise TrainingDataError(f"{where}: 'split' must be one of {', '.join(SPLITS)}")
    if not isinstance(data.get("answerable"), bool):
        raise TrainingDataError(f"{where}: 'answerable' must be true or false")
    article, answer = data.get("article"), data.get("answer")
    if data["answerable"] and not (isinstance(article, str) and isinstance(answer, str)):
        raise TrainingDataError(f"{where}: an answerable question needs 'article' and 'answer'")
    return Question(
        id=data["id"],
        question=data["question"],
        article=article if isinstance(article, str) else None,
        answer=answer if isinstance(answer, str) else None,
        answerable=data["answerable"],
        split=data["split"],
    )


def select_questions(questions: Sequence[Question], split: str, limit: int = 0) -> list[Question]:
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
