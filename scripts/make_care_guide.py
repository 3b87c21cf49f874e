"""Write the sample help centre's PDF care guide from its Markdown source.

Pinecrest's help centre (``data/knowledge/``) holds one PDF, so that knowledge ingest and
the question set have a real PDF to read. Its text lives in the repository as Markdown,
``data/knowledge_sources/care-guide.md`` (outside ``data/knowledge/``, so it is not
ingested twice), and this script typesets it with fpdf2 (a development dependency)::

    python scripts/make_care_guide.py                     # rewrites the committed PDF
    python scripts/make_care_guide.py --out /tmp/guide.pdf

The output is deterministic: the creation date, producer and document metadata are fixed,
so running the script again gives the same bytes (a test checks this against the committed
PDF). Edit the Markdown, run the script, and commit both files together.

Only the Markdown the guide uses is understood: one ``#`` title, ``##`` and ``###``
headings, paragraphs, ``- `` bullets, ``1. `` numbered steps and ``**bold**``. The PDF uses
the built-in Helvetica font, so the text must be Latin-1 (``°`` is fine; use ``-`` and
``to`` rather than en dashes).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT / "data" / "knowledge_sources" / "care-guide.md"
DEFAULT_OUT = ROOT / "data" / "knowledge" / "care" / "care-guide.pdf"
GUIDE_URL = "https://help.pinecrest.example/care/care-guide.pdf"
AUTHOR = "Pinecrest Outfitters"
# A fixed date keeps the PDF byte-for-byte reproducible.
CREATION_DATE = datetime(2024, 3, 1, 9, 0, 0, tzinfo=timezone.utc)

_NUMBERED = re.compile(r"^(\d+)\.\s+(.*)$")


@dataclass(frozen=True)
class Block:
    """One typeset unit of the guide.

    Attributes:
        kind: ``title``, ``h2``, ``h3``, ``para``, ``bullet`` or ``step``.
        text: The block's text, with ``**bold**`` markers kept.
        label: The step number for ``step`` blocks, else empty.
    """

    kind: str
    text: str
    label: str = ""


class CareGuideSourceError(ValueError):
    """The Markdown source uses something the script cannot typeset."""


def parse_blocks(markdown: str) -> list[Block]:
    """Split the guide's Markdown into blocks.

    Consecutive non-blank lines of a paragraph are joined; list items and headings each
    make their own block.

    Args:
        markdown: The source text.

    Returns:
        The blocks in reading order; the first is the ``title``.

    Raises:
        CareGuideSourceError: If there is not exactly one ``#`` title at the top, or the
            text is not Latin-1.
    """
    try:
        markdown.encode("latin-1")
    except UnicodeEncodeError as e:
        raise CareGuideSourceError(
            f"the care guide must be Latin-1 for the PDF's core font: {e}"
        ) from e
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("para", " ".join(paragraph)))
            paragraph.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        numbered = _NUMBERED.match(line)
        if not line:
            flush()
        elif line.startswith("### "):
            flush()
            blocks.append(Block("h3", line[4:].strip()))
        elif line.startswith("## "):
            flush()
            blocks.append(Block("h2", line[3:].strip()))
        elif line.startswith("# "):
            flush()
            blocks.append(Block("title", line[2:].strip()))
        elif line.startswith("- "):
            flush()
            blocks.append(Block("bullet", line[2:].strip()))
        elif numbered:
            flush()
            blocks.append(Block("step", numbered.group(2).strip(), numbered.group(1)))
        else:
            paragraph.append(line)
    flush()
    titles = [b for b in blocks if b.kind == "title"]
    if len(titles) != 1 or blocks[0].kind != "title":
        raise CareGuideSourceError("the care guide needs exactly one '# ' title, first")
    return blocks


class _GuidePDF(FPDF):
    """An A4 page with the guide's running footer."""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"Pinecrest Outfitters Care Guide - {GUIDE_URL}", align="L")
        self.cell(0, 5, f"Page {self.page_no()}", align="R")


def render(blocks: Sequence[Block]) -> bytes:
    """Typeset the blocks as a PDF.

    Args:
        blocks: From :func:`parse_blocks`; the first is the title.

    Returns:
        The PDF's bytes, identical for identical blocks.
    """
    title = blocks[0].text
    pdf = _GuidePDF(format="A4")
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_producer("Pinecrest scripts/make_care_guide.py")
    pdf.set_creator("Pinecrest scripts/make_care_guide.py")
    pdf.set_title(title)
    pdf.set_author(AUTHOR)
    pdf.set_subject(GUIDE_URL)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    width = pdf.epw
    for block in blocks:
        pdf.set_text_color(30, 30, 30)
        if block.kind == "title":
            pdf.set_font("Helvetica", style="B", size=20)
            pdf.set_text_color(31, 77, 58)
            pdf.multi_cell(width, 10, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == "h2":
            pdf.ln(4)
            pdf.set_font("Helvetica", style="B", size=14)
            pdf.set_text_color(31, 77, 58)
            pdf.multi_cell(width, 7, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif block.kind == "h3":
            pdf.ln(2)
            pdf.set_font("Helvetica", style="B", size=11)
            pdf.multi_cell(width, 6, block.text, new_x="LMARGIN", new_y="NEXT")
        elif block.kind in ("bullet", "step"):
            pdf.set_font("Helvetica", size=10.5)
            marker = "-" if block.kind == "bullet" else f"{block.label}."
            pdf.set_x(pdf.l_margin + 3)
            pdf.cell(6, 5.5, marker)
            pdf.multi_cell(width - 9, 5.5, block.text, markdown=True, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(0.8)
        else:
            pdf.set_font("Helvetica", size=10.5)
            pdf.multi_cell(width, 5.5, block.text, markdown=True, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    return bytes(pdf.output())


def build(source: Path, out: Path) -> int:
    """Write the PDF for a Markdown source.

    Args:
        source: The guide's Markdown.
        out: Where the PDF goes; its folder is created if needed.

    Returns:
        The number of bytes written.
    """
    data = render(parse_blocks(source.read_text(encoding="utf-8")))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(data)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the care guide PDF.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="Markdown text")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="PDF to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        size = build(args.source, args.out)
    except (OSError, CareGuideSourceError) as e:
        logger.error("could not build the care guide: %s", e)
        return 1
    logger.info("wrote %s (%d bytes)", args.out, size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
