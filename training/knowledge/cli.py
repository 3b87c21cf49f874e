"""``python -m training kb``: a help-centre folder in, redacted chunks and their vectors out."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from common.errors import BotError
from training.knowledge.chunking import DEFAULT_CHUNK_CHARS
from training.knowledge.pipeline import DEFAULT_MAX_FILE_BYTES, KbOptions, build_knowledge_base
from training.knowledge.report import REPORT_MD

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``kb`` arguments to a (sub)parser.

    Args:
        parser: The parser of the ``kb`` command.

    """
    parser.add_argument(
        "--input",
        type=Path,
        required=True,
        help="folder of .md, .markdown, .html, .htm, .pdf, .txt and FAQ .csv files (recursive)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--max-file-bytes",
        type=int,
        default=DEFAULT_MAX_FILE_BYTES,
        help="larger files are skipped unread (default: %(default)s, 20 MiB)",
    )
    parser.add_argument(
        "--chunk-chars",
        type=int,
        default=DEFAULT_CHUNK_CHARS,
        help="largest chunk in characters (default: %(default)s)",
    )
    parser.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="STRING",
        help="never redact this string, e.g. the company's support email or phone number "
        "(repeatable; a phone number matches in any format)",
    )
    parser.add_argument(
        "--not-a-name",
        action="append",
        default=[],
        metavar="NAME",
        help="a product or brand name the name finder must not redact as a person (repeatable)",
    )
    parser.add_argument(
        "--redact-names",
        action="store_true",
        help="redact person names too (off by default: help-centre text is the company's own, "
        "and the name finder takes product names and table headers for people)",
    )
    parser.add_argument(
        "--no-embed", action="store_true", help="write the chunks only, no MiniLM vectors"
    )
    parser.add_argument("--device", default="cpu", help="encoder device: cpu, cuda or auto")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    """Ingest the folder and log a summary.

    Args:
        args: Parsed by a parser set up with :func:`configure`.

    Returns:
        0 on success, 2 if no document was usable or an option is invalid.

    """
    from common.embeddings import MiniLMEmbedder

    try:
        options = KbOptions(
            input=args.input,
            out=args.out,
            max_file_bytes=args.max_file_bytes,
            chunk_chars=args.chunk_chars,
            keep=tuple(args.keep),
            not_names=tuple(args.not_a_name),
            redact_names=args.redact_names,
            embed=not args.no_embed,
            progress=not args.no_progress,
        )
        result = build_knowledge_base(
            options, embedder=None if args.no_embed else MiniLMEmbedder(device=args.device)
        )
    except BotError as e:
        logger.error("kb failed: %s", e.message)
        return 2
    report = result.report
    logger.info(
        "%d documents, %d chunks, %d files rejected; redacted %s; report: %s",
        len(report.documents),
        report.chunks_written,
        len(report.rejected),
        report.redacted_totals() or "nothing",
        args.out / REPORT_MD,
    )
    return 0
