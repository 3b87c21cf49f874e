"""The knowledge chunk: one passage of a help-centre document, and its JSONL file.

``python -m training kb`` writes ``chunks.jsonl`` (one :class:`Chunk` per line, in document
order); the knowledge index reads it. The file format is the contract between the two:
:meth:`Chunk.to_json` writes a line and :func:`read_chunks` reads a file back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import TrainingDataError

CHUNKS_FILE = "chunks.jsonl"
MAX_CHUNK_LINE_BYTES = 1 << 20


def content_hash(text: str) -> str:
    """Return the stable digest of a chunk's text (what incremental re-indexing compares).

    Args:
        text: The chunk's text, after redaction.

    Returns:
        A 32-character hex BLAKE2b digest.
    """
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Chunk:
    """One passage of a document, small enough to retrieve and quote.

    Attributes:
        chunk_id: Unique within the knowledge base and stable across re-runs for the same
            document and position (e.g. ``"care/down-jackets.md#2"``).
        doc_id: The document it comes from (its path relative to the knowledge folder).
        title: The document's title.
        section: The heading path of the passage inside the document ("" at the top), e.g.
            ``"Washing > Machine wash"``.
        text: The passage, PII-redacted.
        source: Where a customer can read it: the document's URL if it declares one, else
            its relative path.
        hash: :func:`content_hash` of ``text``.
    """

    chunk_id: str
    doc_id: str
    title: str
    section: str
    text: str
    source: str
    hash: str

    def __post_init__(self) -> None:
        if not self.chunk_id or not self.doc_id:
            raise TrainingDataError("a knowledge chunk needs a chunk_id and a doc_id")
        if not self.text.strip():
            raise TrainingDataError(f"knowledge chunk {self.chunk_id!r} has no text")

    @classmethod
    def build(
        cls, chunk_id: str, doc_id: str, title: str, section: str, text: str, source: str
    ) -> Chunk:
        """Make a chunk, computing its hash from its text.

        Args:
            chunk_id: See the class attributes.
            doc_id: See the class attributes.
            title: See the class attributes.
            section: See the class attributes.
            text: See the class attributes.
            source: See the class attributes.

        Returns:
            The chunk.
        """
        return cls(chunk_id, doc_id, title, section, text, source, content_hash(text))

    def embedding_text(self) -> str:
        """The text the chunk is embedded from: its title, heading path and passage.

        Ingest (``python -m training kb``) and the index embed chunks from this one text, so
        their vectors are interchangeable.

        Returns:
            The title and section joined by " > ", a blank line, then the text (empty parts
            left out).
        """
        heading = " > ".join(part for part in (self.title, self.section) if part)
        return f"{heading}\n\n{self.text}" if heading else self.text

    @property
    def embedding_key(self) -> str:
        """:func:`content_hash` of :meth:`embedding_text`: what a stored vector is keyed by."""
        return content_hash(self.embedding_text())

    def to_dict(self) -> dict[str, str]:
        """The chunk as a JSON object."""
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "text": self.text,
            "source": self.source,
            "hash": self.hash,
        }

    def to_json(self) -> str:
        """One line of ``chunks.jsonl`` (no trailing newline)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        """Read a chunk from its JSON object.

        Args:
            data: A decoded line of ``chunks.jsonl``.

        Returns:
            The chunk.

        Raises:
            TrainingDataError: If a field is missing or not a string, or the hash does not
                match the text.
        """
        fields = ("chunk_id", "doc_id", "title", "section", "text", "source", "hash")
        missing = [f for f in fields if not isinstance(data.get(f), str)]
        if missing:
            raise TrainingDataError(f"knowledge chunk lacks {', '.join(missing)}")
        chunk = cls(*(str(data[f]) for f in fields))
        if chunk.hash != content_hash(chunk.text):
            raise TrainingDataError(f"knowledge chunk {chunk.chunk_id!r}: hash does not match")
        return chunk


def write_chunks(path: Path, chunks: Iterable[Chunk]) -> int:
    """Write chunks as JSONL, atomically (a temporary file renamed into place).

    Args:
        path: The file, usually ``<out>/chunks.jsonl``.
        chunks: The chunks, in document order.

    Returns:
        How many were written.

    Raises:
        TrainingDataError: If two chunks share a ``chunk_id``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    seen: set[str] = set()
    with tmp.open("w", encoding="utf-8", newline="\n") as f:
        for chunk in chunks:
            if chunk.chunk_id in seen:
                tmp.unlink(missing_ok=True)
                raise TrainingDataError(f"duplicate knowledge chunk id {chunk.chunk_id!r}")
            seen.add(chunk.chunk_id)
            f.write(chunk.to_json() + "\n")
    tmp.replace(path)
    return len(seen)


def read_chunks(path: Path) -> Iterator[Chunk]:
    """Read a ``chunks.jsonl`` file.

    Args:
        path: The file.

    Yields:
        Each chunk, in file order.

    Raises:
        TrainingDataError: If the file is missing, a line is not a chunk, or is too long.
    """
    if not path.is_file():
        raise TrainingDataError(f"no knowledge chunks at {path} (run `python -m training kb`)")
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if len(raw) > MAX_CHUNK_LINE_BYTES:
                raise TrainingDataError(f"{path}:{number}: line over {MAX_CHUNK_LINE_BYTES} bytes")
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise TrainingDataError(f"{path}:{number}: not a JSON line") from e
            if not isinstance(data, dict):
                raise TrainingDataError(f"{path}:{number}: not a JSON object")
            try:
                yield Chunk.from_dict(data)
            except TrainingDataError as e:
                raise TrainingDataError(f"{path}:{number}: {e.message}") from e
