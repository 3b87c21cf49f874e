"""FAQ spreadsheets: a CSV with ``question`` and ``answer`` columns, one chunk per row.

Column names are matched case-insensitively and other columns are ignored. Each row is a
section named after its question, whose chunk reads ``Q: <question>``, a line break, and
``A: <answer>``; rows missing either value are skipped. The title is the file name made
readable. A long answer is cut like any text, and every piece opens with the question.
"""

from __future__ import annotations

import csv
import io
import logging

from training.knowledge.document import Document, RejectedFile, Section, normalise_space
from training.knowledge.markdown import humanise_name

logger = logging.getLogger(__name__)


def parse_faq_csv(text: str, doc_id: str) -> Document:
    """Parse a FAQ CSV.

    Args:
        text: The file's text.
        doc_id: The document id (its relative path).

    Returns:
        The document, one section per question.

    Raises:
        RejectedFile: ``not_faq_csv`` without both columns or on malformed CSV,
            ``no_text`` if no row has both a question and an answer.

    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
        columns = {name.strip().casefold(): i for i, name in enumerate(header)}
        if "question" not in columns or "answer" not in columns:
            found = ", ".join(h.strip() for h in header[:10])
            raise RejectedFile("not_faq_csv", f"columns found: {found or 'none'}")
        q_at, a_at = columns["question"], columns["answer"]
        sections: list[Section] = []
        skipped = 0
        for row in reader:
            question = " ".join(_cell(row, q_at).split())
            answer = normalise_space(_cell(row, a_at))
            if not question or not answer:
                skipped += bool(any(cell.strip() for cell in row))
                continue
            sections.append(Section(question, f"A: {answer}", lead=f"Q: {question}"))
    except csv.Error as e:
        raise RejectedFile("not_faq_csv", f"malformed CSV ({e})") from e
    if skipped:
        logger.warning("%s: %d FAQ rows without a question or an answer skipped", doc_id, skipped)
    if not sections:
        raise RejectedFile("no_text", "no row with both a question and an answer")
    return Document(doc_id, humanise_name(doc_id), doc_id, "faq_csv", tuple(sections))


def _cell(row: list[str], at: int) -> str:
    return row[at] if at < len(row) else ""
