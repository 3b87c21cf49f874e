"""Build a knowledge index from the output folder of ``python -m training kb``.

The folder holds ``chunks.jsonl`` (:mod:`bot.knowledge.chunks`) and, unless ingest ran with
``--no-embed``, the chunks' vectors (``embeddings.npy`` and ``embeddings.json``,
:mod:`bot.knowledge.chunk_vectors`). :func:`build_from_folder` looks each chunk's vector up
by :attr:`~bot.knowledge.chunks.Chunk.embedding_key` and embeds only what is missing: every
chunk when the vectors are absent, unreadable, made by another model or of another size
than the fresh ones; otherwise just the chunks whose text has no stored vector. The runtime
cannot ingest raw documents (``bot`` never imports ``training``), so a folder without
``chunks.jsonl`` is an error that says how to make one.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.knowledge.answerability import ANSWERABILITY_FILE, read_answerability
from bot.knowledge.chunk_vectors import (
    VECTORS_FILE,
    VECTORS_INDEX_FILE,
    ChunkVectors,
    read_chunk_vectors,
)
from bot.knowledge.chunks import CHUNKS_FILE, Chunk, read_chunks
from bot.knowledge.index import DEFAULT_MODEL_NAME, KnowledgeIndex
from common.embeddings import Embedder, encode_matrix
from common.errors import ConfigError, TrainingDataError

logger = logging.getLogger(__name__)

INPUT_FILES = (CHUNKS_FILE, VECTORS_INDEX_FILE, VECTORS_FILE, ANSWERABILITY_FILE)
_BLOCK = 1 << 20


@dataclass(frozen=True)
class FolderBuild:
    """An index built from a chunks folder, and how its vectors were found.

    Attributes:
        index: The index (in memory until saved).
        chunks: How many chunks it holds.
        reused: Chunks whose stored vector was used.
        embedded: Chunks embedded now.
        reason: Why chunks were embedded now ("" when none were).
    """

    index: KnowledgeIndex
    chunks: int
    reused: int
    embedded: int
    reason: str


def folder_fingerprint(folder: Path) -> str:
    """Return a digest of the input files' content (a missing file counts as "missing").

    Args:
        folder: The chunks folder.

    Returns:
        A SHA-256 hex digest over ``chunks.jsonl``, ``embeddings.json``,
        ``embeddings.npy`` and ``answerability.json``.
    """
    digest = hashlib.sha256()
    for name in INPUT_FILES:
        digest.update(name.encode() + b"\0")
        try:
            with (folder / name).open("rb") as f:
                while block := f.read(_BLOCK):
                    digest.update(block)
        except OSError:
            digest.update(b"missing")
        digest.update(b"\0")
    return digest.hexdigest()


def read_folder_chunks(folder: Path) -> list[Chunk]:
    """Read a folder's ``chunks.jsonl``.

    Args:
        folder: The chunks folder.

    Returns:
        The chunks, in file order.

    Raises:
        TrainingDataError: If the folder or file is missing, malformed or holds no chunk.
    """
    path = folder / CHUNKS_FILE
    if not path.is_file():
        where = "does not exist" if not folder.exists() else f"has no {CHUNKS_FILE}"
        raise TrainingDataError(
            f"the knowledge folder {folder} {where}: it must be the output folder of the "
            f"knowledge ingest step; run `python -m training kb --input <documents folder> "
            f"--out {folder}` first"
        )
    chunks = list(read_chunks(path))
    if not chunks:
        raise TrainingDataError(f"{path} holds no chunks: the knowledge base is empty")
    return chunks


def build_from_folder(
    folder: Path, embedder: Embedder, model_name: str = DEFAULT_MODEL_NAME
) -> FolderBuild:
    """Build the index of a chunks folder, embedding only chunks without a stored vector.

    Args:
        folder: The output folder of ``python -m training kb``.
        embedder: Embeds chunks that lack a stored vector (called only if some do).
        model_name: The embedder's model; stored vectors of another model are not used.

    Returns:
        The index and how its vectors were found.

    Raises:
        TrainingDataError: If the chunks are missing or malformed, or two share an id.
    """
    chunks = read_folder_chunks(folder)
    stored, reason = _stored_vectors(folder, model_name)
    rows = [stored.rows.get(c.embedding_key) if stored is not None else None for c in chunks]
    missing = [i for i, row in enumerate(rows) if row is None]
    if stored is not None and missing:
        reason = f"{len(missing)} of {len(chunks)} chunks have no stored vector"
    fresh = encode_matrix(embedder, [chunks[i].embedding_text() for i in missing])
    if stored is not None and missing and fresh.shape[1] != stored.dimension:
        reason = (
            f"the stored vectors have {stored.dimension} dimensions, the embedder {fresh.shape[1]}"
        )
        stored, rows, missing = None, [None] * len(chunks), list(range(len(chunks)))
        fresh = encode_matrix(embedder, [c.embedding_text() for c in chunks])
    if stored is None:
        matrix = fresh
    else:
        matrix = np.empty((len(chunks), stored.dimension), dtype=np.float32)
        for i, row in enumerate(rows):
            if row is not None:
                matrix[i] = stored.matrix[row]
        for j, i in enumerate(missing):
            matrix[i] = fresh[j]
    if missing:
        logger.info(
            "Knowledge index: embedding %d of %d chunks now (%s).",
            len(missing),
            len(chunks),
            reason,
        )
    index = KnowledgeIndex.build(chunks, embedder, matrix, model_name=model_name)
    try:
        index.answerability = read_answerability(folder)
    except ConfigError as e:
        index.close()
        raise TrainingDataError(e.message) from e
    return FolderBuild(
        index=index,
        chunks=len(chunks),
        reused=len(chunks) - len(missing),
        embedded=len(missing),
        reason=reason if missing else "",
    )


def _stored_vectors(folder: Path, model_name: str) -> tuple[ChunkVectors | None, str]:
    """Return the folder's vectors if usable, else None and why not."""
    if not (folder / VECTORS_INDEX_FILE).exists() and not (folder / VECTORS_FILE).exists():
        return None, "the folder has no vectors (ingest ran with --no-embed?)"
    try:
        stored = read_chunk_vectors(folder)
    except TrainingDataError as e:
        logger.warning("Knowledge index: stored vectors not used: %s", e.message)
        return None, "the stored vectors could not be read"
    if stored.model != model_name:
        return None, f"the stored vectors were made by another model ({stored.model})"
    return stored, ""
