"""``python -m training export-feedback --db PATH --out DIR``: inbox feedback to training data.

Writes ``nlu_feedback.yml`` (Rasa NLU examples from intent corrections) and
``pairs_feedback.jsonl`` (agent reply pairs, the transcripts pipeline's format).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bot.inbox.db import DEFAULT_DB_PATH, InboxDB
from bot.inbox.feedback import read_feedback
from common.errors import BotError
from training.feedback.export import export

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments.

    Args:
        parser: The sub-command parser.
    """
    parser.add_argument("--db", default=DEFAULT_DB_PATH, help="inbox database (%(default)s)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")


def run(args: argparse.Namespace) -> int:
    """Export the feedback.

    Args:
        args: Parsed arguments.

    Returns:
        The exit status.
    """
    db_path = Path(args.db)
    if not db_path.is_file():
        logger.error("No inbox database at %s.", db_path)
        return 2
    try:
        pairs, corrections, _ = read_feedback(InboxDB(db_path))
        report = export(pairs, corrections, Path(args.out))
    except BotError as e:
        logger.error("Export failed: %s", e)
        return 1
    logger.info("Wrote %s and %s.", report.nlu_path, report.pairs_path)
    return 0
