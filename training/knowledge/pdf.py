"""PDF documents with pypdf: one section per page, so every chunk can cite its page.

The title is the document's ``/Title`` metadata, else its first line of text. An
encrypted PDF is tried with the empty password (many are encrypted only to restrict
printing); one that needs a real password is rejected as ``encrypted_pdf``. Anything
pypdf cannot parse is rejected as ``broken_pdf``, and a PDF without extractable text (a
scan) as ``no_text``.
"""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PyPdfError

from training.knowledge.document import Document, RejectedFile, Section, normalise_space
from training.knowledge.markdown import humanise_name

logger = logging.getLogger(__name__)

# pypdf raises these besides its own errors on malformed files.
_PARSE_ERRORS = (
    PyPdfError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    AssertionError,
    RecursionError,
    ZeroDivisionError,
    OSError,
)


def parse_pdf(data: bytes, doc_id: str) -> Document:
    """Extract a PDF's text, page by page.

    Args:
        data: The file's bytes.
        doc_id: The document id (its relative path).

    Returns:
        The document, one section (``"Page N"``) per page with text.

    Raises:
        RejectedFile: ``encrypted_pdf``, ``broken_pdf`` or ``no_text``.

    """
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise RejectedFile("broken_pdf", "no PDF header")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise RejectedFile("encrypted_pdf")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = _metadata_title(reader)
    except RejectedFile:
        raise
    except (FileNotDecryptedError, NotImplementedError) as e:
        # Encryption schemes pypdf cannot open without extra packages end up here too.
        raise RejectedFile("encrypted_pdf", type(e).__name__) from e
    except _PARSE_ERRORS as e:
        raise RejectedFile("broken_pdf", type(e).__name__) from e
    sections = [
        Section(f"Page {number}", text)
        for number, raw in enumerate(pages, start=1)
        if (text := normalise_space(raw))
    ]
    if not sections:
        raise RejectedFile("no_text", "no extractable text (a scanned PDF?)")
    first_line = sections[0].text.split("\n", 1)[0]
    title = meta_title or first_line[:200] or humanise_name(doc_id)
    return Document(doc_id, title, doc_id, "pdf", tuple(sections))


def _metadata_title(reader: PdfReader) -> str:
    try:
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
    except _PARSE_ERRORS:
        return ""
    return " ".join(str(title).split()) if title else ""
