"""``python -m training build-bot``: transcripts in, a complete Rasa project out."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from common.errors import BotError
from common.privacy.redactor import NAME_FINDERS

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``build-bot`` arguments.

    Args:
        parser: The parser of the ``build-bot`` command.

    """
    parser.add_argument("--input", type=Path, required=True, help="transcripts: file or folder")
    parser.add_argument("--out", type=Path, required=True, help="the new project's folder")
    parser.add_argument("--name", help="the bot's name (default: the folder's name)")
    parser.add_argument("--kb", type=Path, help="help-centre folder: knowledge-grounded answers")
    parser.add_argument(
        "--intents", type=Path, help="a reviewed intents_proposed.yml (unlabelled transcripts)"
    )
    parser.add_argument(
        "--accept-proposals",
        action="store_true",
        help="unlabelled transcripts: use the discovered clusters without review (first look)",
    )
    parser.add_argument(
        "--format",
        default="auto",
        choices=["auto", "jsonl", "csv", "taskmaster", "eml", "mbox", "slack"],
    )
    parser.add_argument("--csv-text-column", default="instruction")
    parser.add_argument("--csv-reply-column", default="response")
    parser.add_argument("--csv-intent-column", default="intent", help="'' for none")
    parser.add_argument("--support-domain", action="append", default=[], metavar="DOMAIN")
    parser.add_argument(
        "--drop-conflicts", action="store_true", help="leave out texts under two intents"
    )
    parser.add_argument(
        "--drop-thin-intents", action="store_true", help="leave out intents with one example"
    )
    parser.add_argument("--no-near-dedupe", action="store_true")
    parser.add_argument("--max-per-intent", type=int)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--min-cohesion", type=float, default=0.5)
    parser.add_argument("--cluster-distance", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--force", action="store_true", help="overwrite files edited by hand")
    parser.add_argument(
        "--names",
        choices=NAME_FINDERS,
        default="spacy",
        help="how person names are redacted: spaCy NER (default), the MiniLM tagger, both "
        "(the fewest leaks; needs `make pii-ner`) or vote (fewer false names)",
    )


def run(args: argparse.Namespace) -> int:
    """Build the bot.

    Returns:
        0 when built, 3 when stopped for the review of ``intents_proposed.yml``, 1 on error.

    """
    from common.privacy import RedactionConfig, Redactor
    from training.buildbot.mining import MiningConfig
    from training.buildbot.pipeline import BuildOptions, build_bot
    from training.ingest import CsvMapping, IngestOptions

    try:
        options = BuildOptions(
            input=args.input,
            out=args.out,
            name=args.name,
            format=args.format,
            ingest=IngestOptions(
                csv=CsvMapping(
                    request_column=args.csv_text_column,
                    reply_column=args.csv_reply_column,
                    intent_column=args.csv_intent_column or None,
                ),
                support_domains=frozenset(args.support_domain),
            ),
            kb=args.kb,
            intents=args.intents,
            accept_proposals=args.accept_proposals,
            drop_conflicts=args.drop_conflicts,
            drop_thin=args.drop_thin_intents,
            near_dedupe=not args.no_near_dedupe,
            test_fraction=args.test_fraction,
            max_per_intent=args.max_per_intent,
            mining=MiningConfig(
                min_cohesion=args.min_cohesion, cluster_distance=args.cluster_distance
            ),
            seed=args.seed,
            force=args.force,
        )
        # Placeholders only: a reply mined from the transcripts may be sent again, and
        # the replies with placeholders left in are dropped, never filled with fake values.
        redactor = Redactor(RedactionConfig(names=args.names))
        result = build_bot(options, redactor=redactor)
    except BotError as e:
        logger.error("%s", e)
        return 1
    if result.stopped_for_review:
        logger.info("stopped for review: intents_proposed.yml written")
        return 3
    logger.info("next: cd %s && rasa data validate && rasa train (see its README.md)", args.out)
    return 0
