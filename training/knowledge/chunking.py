"""Heading-aware chunking: passages of at most ``max_chars`` that never cross a section.

Each section is cut on its own. Its paragraphs are packed greedily into chunks; a paragraph
too long for one chunk is cut into its lines (list items), a line into sentences, and a
sentence into words. Words are never cut: the one exception to the size limit is a single
word longer than the limit (a very long URL), which becomes a chunk of its own. Chunks do
not overlap. A section's ``lead`` (a FAQ row's question) opens every chunk of the section.
Chunk ids are ``<doc_id>#<n>``, numbered from 0 in document order, so they are stable for
as long as the document's text before them does not change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.knowledge.chunks import Chunk
from common.errors import ConfigError
from training.knowledge.document import Document

DEFAULT_CHUNK_CHARS = 800
MIN_CHUNK_CHARS = 100

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]?\s+(?=\S)")


def validate_chunk_chars(max_chars: int) -> None:
    """Refuse a chunk size too small to hold a sentence.

    Args:
        max_chars: The requested size.

    Raises:
        ConfigError: If it is below :data:`MIN_CHUNK_CHARS`.

    """
    if max_chars < MIN_CHUNK_CHARS:
        raise ConfigError(f"chunk size must be at least {MIN_CHUNK_CHARS} characters")


def split_text(text: str, max_chars: int) -> list[str]:
    """Cut a section's text into chunks of at most ``max_chars`` characters.

    Args:
        text: Plain text, paragraphs separated by blank lines.
        max_chars: The largest chunk.

    Returns:
        The chunks, in order, none of them empty.

    """
    chunks: list[str] = []
    current = ""
    for separator, unit in _units(text, max_chars):
        candidate = f"{current}{separator}{unit}" if current else unit
        if len(candidate) <= max_chars:
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = unit
    if current:
        chunks.append(current)
    return [c for c in (c.strip() for c in chunks) if c]


def chunk_document(document: Document, max_chars: int = DEFAULT_CHUNK_CHARS) -> list[Chunk]:
    """Cut a (redacted) document into chunks.

    Args:
        document: The document; its texts should already be redacted.
        max_chars: The largest chunk.

    Returns:
        The chunks, in document order, with ids ``<doc_id>#0``, ``<doc_id>#1``...

    """
    validate_chunk_chars(max_chars)
    chunks: list[Chunk] = []
    for section in document.sections:
        if section.lead:
            budget = max_chars - len(section.lead) - 1
            if budget >= max_chars // 2:
                texts = [f"{section.lead}\n{piece}" for piece in split_text(section.text, budget)]
            else:
                texts = split_text(f"{section.lead}\n{section.text}", max_chars)
        else:
            texts = split_text(section.text, max_chars)
        for text in texts:
            chunks.append(
                Chunk.build(
                    f"{document.doc_id}#{len(chunks)}",
                    document.doc_id,
                    document.title,
                    section.heading,
                    text,
                    document.source,
                )
            )
    return chunks


def _units(text: str, max_chars: int) -> Iterator[tuple[str, str]]:
    """Yield (separator before it, piece): whole paragraphs, or their lines, sentences, words."""
    for paragraph in (p.strip() for p in text.split("\n\n")):
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            yield "\n\n", paragraph
            continue
        for line_at, line in enumerate(paragraph.split("\n")):
            line_separator = "\n\n" if line_at == 0 else "\n"
            if len(line) <= max_chars:
                yield line_separator, line
                continue
            for sentence_at, sentence in enumerate(_sentences(line)):
                separator = line_separator if sentence_at == 0 else " "
                if len(sentence) <= max_chars:
                    yield separator, sentence
                    continue
                for word_at, word in enumerate(sentence.split()):
                    yield (separator if word_at == 0 else " "), word


def _sentences(line: str) -> list[str]:
    """Split a line after sentence-ending punctuation, keeping the punctuation."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        end = match.start() + len(match.group().rstrip())
        pieces.append(line[start:end].strip())
        start = match.end()
    pieces.append(line[start:].strip())
    return [p for p in pieces if p]
