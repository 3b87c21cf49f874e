"""Pick the reader for a file by its extension and turn the file into a :class:`Document`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from training.knowledge.document import Document, RejectedFile
from training.knowledge.faq import parse_faq_csv
from training.knowledge.files import check_size, decode_text, doc_id_of, read_bytes
from training.knowledge.html import parse_html
from training.knowledge.markdown import parse_markdown
from training.knowledge.pdf import parse_pdf
from training.knowledge.text import parse_text

TextParser = Callable[[str, str], Document]

# Extension -> parser of the decoded text; PDFs are parsed from bytes.
TEXT_PARSERS: MappingProxyType[str, TextParser] = MappingProxyType(
    {
        ".md": parse_markdown,
        ".markdown": parse_markdown,
        ".html": parse_html,
        ".htm": parse_html,
        ".txt": parse_text,
        ".csv": parse_faq_csv,
    }
)
PDF_EXTENSION = ".pdf"
EXTENSIONS = frozenset({*TEXT_PARSERS, PDF_EXTENSION})


def read_document(path: Path, root: Path, max_bytes: int) -> Document:
    """Read and parse one knowledge file.

    The extension and the size are checked before the file is opened.

    Args:
        path: The file.
        root: The knowledge folder (document ids are relative to it).
        max_bytes: The largest file accepted.

    Returns:
        The parsed document.

    Raises:
        RejectedFile: If the file cannot be used; its ``reason`` says why.

    """
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise RejectedFile("unknown_extension", f"extension {suffix or '(none)'!r}")
    check_size(path, max_bytes)
    data = read_bytes(path)
    doc_id = doc_id_of(path, root)
    if suffix == PDF_EXTENSION:
        return parse_pdf(data, doc_id)
    return TEXT_PARSERS[suffix](decode_text(data), doc_id)
