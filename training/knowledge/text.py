"""Plain-text documents: the first line is the title, the rest is one section."""

from __future__ import annotations

from training.knowledge.document import Document, Section, normalise_space


def parse_text(text: str, doc_id: str) -> Document:
    """Parse a plain-text document.

    Args:
        text: The file's text (not empty).
        doc_id: The document id (its relative path).

    Returns:
        The document: the first non-blank line is its title; the rest (or, if there is no
        rest, the title line itself) is its one section.

    """
    body = normalise_space(text)
    title, _, rest = body.partition("\n")
    return Document(doc_id, title[:200], doc_id, "text", (Section("", rest.strip() or title),))
