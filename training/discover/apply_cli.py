"""Command ``python -m training apply-intents``: a reviewed ``intents_proposed.yml`` to nlu.yml.

A ``configure(parser)`` / ``run(args)`` pair, mounted by ``training.__main__``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from common.errors import BotError

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of the ``apply-intents`` command."""
    parser.add_argument("proposals", type=Path, help="the reviewed intents_proposed.yml")
    parser.add_argument(
        "--out", type=Path, required=True, help="NLU file to write, e.g. data/nlu/discovered.yml"
    )
    parser.add_argument("--members", type=Path, help="members file (default: from the proposals)")
    parser.add_argument("--min-examples", type=int, default=2)


def run(args: argparse.Namespace) -> int:
    """Apply a reviewed proposals file and write Rasa NLU YAML.

    Returns:
        0 on success, 2 if the file has problems (each logged with its line).
    """
    from training.discover.apply import apply_file

    try:
        result = apply_file(args.proposals, args.out, args.members, min_examples=args.min_examples)
    except BotError as e:
        logger.error("%s", e)
        return 2
    logger.info(
        "wrote %d intents, %d examples, to %s (%d texts left out)",
        len(result.intents),
        sum(result.intents.values()),
        result.out,
        result.dropped,
    )
    return 0
