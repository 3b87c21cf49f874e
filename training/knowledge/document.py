"""A parsed knowledge document (before chunking) and why a file can be turned away.

Every reader turns one file into a :class:`Document`: a title, a source, and its sections
in order, each with its heading path and plain text. A file that cannot be used raises
:class:`RejectedFile` with one of the :data:`REASONS` codes; ingest reports it and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from common.errors import TrainingDataError

SECTION_SEPARATOR = " > "

# Reason code -> what it means (report.md prints the explanation).
REASONS = MappingProxyType(
    {
        "too_large": "over the size limit (not read)",
        "empty": "empty, or only whitespace",
        "unknown_extension": "not a knowledge format (.md, .markdown, .html, .htm, .pdf, "
        ".txt, .csv)",
        "not_text": "binary or not UTF-8 where text was expected",
        "encrypted_pdf": "encrypted PDF that does not open without a password",
        "broken_pdf": "PDF that cannot be parsed",
        "not_faq_csv": "CSV without question and answer columns",
        "no_text": "no usable text after extraction",
        "unreadable": "cannot be read (permissions, I/O error)",
    }
)


class RejectedFile(TrainingDataError):
    """A file that ingest skips, with a reason code from :data:`REASONS`.

    Args:
        reason: The reason code.
        detail: A short explanation without any of the file's content.

    """

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(f"{reason}: {detail or REASONS[reason]}")
        self.reason = reason
        self.detail = detail or REASONS[reason]


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path.

    Attributes:
        heading: The heading path below the title, joined by :data:`SECTION_SEPARATOR`
            ("" for text before the first heading).
        text: Plain text; paragraphs are separated by blank lines.
        lead: Text repeated at the start of every chunk cut from this section (a FAQ
            row's question), so that each chunk stands on its own.

    """

    heading: str
    text: str
    lead: str = ""


@dataclass(frozen=True)
class Document:
    """One knowledge file, parsed.

    Attributes:
        doc_id: The file's path relative to the knowledge folder, with ``/`` separators.
        title: The document's title.
        source: Its URL if it declares one, else ``doc_id``.
        format: The reader that parsed it (``markdown``, ``html``, ``pdf``, ``text``,
            ``faq_csv``).
        sections: The sections, in document order.

    """

    doc_id: str
    title: str
    source: str
    format: str
    sections: tuple[Section, ...]


def heading_path(headings: list[str], title: str) -> str:
    """Join the open headings into a section path, leaving out a top heading equal to the title.

    Args:
        headings: The headings from the outermost level in.
        title: The document's title.

    Returns:
        For example ``"Washing > Machine wash"``.

    """
    parts = [h for h in headings if h]
    if parts and parts[0].casefold() == title.casefold():
        parts = parts[1:]
    return SECTION_SEPARATOR.join(parts)


def normalise_space(text: str) -> str:
    """Collapse runs of spaces and tabs, trim lines, and keep at most one blank line.

    Args:
        text: Extracted text.

    Returns:
        The text with paragraphs separated by exactly one blank line.

    """
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = " ".join(raw.replace("\xa0", " ").split())
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)
