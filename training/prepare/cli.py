"""``python -m training prepare``: transcripts in, Rasa NLU YAML and generation pairs out."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from common.errors import BotError
from common.privacy import RedactionConfig, Redactor
from common.privacy.redactor import NAME_FINDERS
from training.ingest import FORMATS, CsvMapping, IngestOptions
from training.prepare.options import PrepareOptions
from training.prepare.pipeline import outputs, prepare

logger = logging.getLogger(__name__)

HELP = "clean, redact, dedupe, balance and split transcripts into Rasa NLU data and pairs"

# Below this much input, starting worker processes (each loads spaCy) costs more than it saves.
AUTO_WORKERS_MIN_BYTES = 2_000_000
AUTO_WORKERS_MAX = 4


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``prepare`` arguments to a (sub)parser.

    Args:
        parser: The parser of the ``prepare`` command.

    """
    defaults = CsvMapping()
    parser.add_argument("--input", type=Path, required=True, help="transcript file or folder")
    parser.add_argument("--format", default="auto", choices=("auto", *FORMATS))
    parser.add_argument("--out", type=Path, default=Path("data"), help="output folder")
    parser.add_argument(
        "--test-out",
        type=Path,
        help="folder for the held-out nlu_test.yml (default: <out>/test); keep it outside "
        "the folder that `rasa train --data` reads",
    )
    parser.add_argument("--csv-text-column", default=defaults.request_column)
    parser.add_argument("--csv-reply-column", default=defaults.reply_column)
    parser.add_argument(
        "--csv-intent-column",
        default=defaults.intent_column,
        help="intent column; pass an empty string if the file has none",
    )
    parser.add_argument(
        "--support-domain",
        action="append",
        default=[],
        help="email domain whose messages are agent turns (repeatable)",
    )
    parser.add_argument(
        "--support-address",
        action="append",
        default=[],
        help="email address whose messages are agent turns (repeatable)",
    )
    parser.add_argument(
        "--slack-agent-id",
        action="append",
        default=[],
        help="Slack user id whose messages are agent turns (repeatable)",
    )
    parser.add_argument(
        "--dedupe-threshold",
        type=float,
        default=0.95,
        help="MiniLM cosine similarity at which two examples of an intent are near duplicates",
    )
    parser.add_argument(
        "--no-near-dedupe", action="store_true", help="only remove exact duplicates"
    )
    parser.add_argument("--max-per-intent", type=int, help="cap on examples per intent")
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--min-examples-to-split", type=int, default=5)
    parser.add_argument("--context-turns", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes for PII detection (each loads spaCy, ~300 MB); default: one per CPU "
        f"core (at most {AUTO_WORKERS_MAX}) for inputs over 2 MB, else 1",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite files edited by hand or not ours"
    )
    parser.add_argument(
        "--pseudonyms",
        action="store_true",
        help="replace PII with consistent fake values per conversation instead of "
        "placeholders such as [EMAIL_1]",
    )
    parser.add_argument(
        "--names",
        choices=NAME_FINDERS,
        default="spacy",
        help="how person names are found: spaCy NER with cues (default), the MiniLM tagger "
        "trained by `python -m training pii-ner` (`make pii-ner`), both (the union: the "
        "fewest leaks), or vote (the tagger's names and the spaCy names it does not rule "
        "out: fewer false names)",
    )


def options_from_args(args: argparse.Namespace) -> PrepareOptions:
    """Build the run's options from parsed arguments.

    Args:
        args: Parsed by a parser set up with :func:`configure`.

    Returns:
        The options.

    Raises:
        ConfigError: If a value is out of range.

    """
    mapping = CsvMapping(
        request_column=args.csv_text_column,
        reply_column=args.csv_reply_column,
        intent_column=args.csv_intent_column or None,
    )
    return PrepareOptions(
        input=args.input,
        out=args.out,
        format=args.format,
        test_out=args.test_out,
        ingest=IngestOptions(
            csv=mapping,
            support_domains=frozenset(d.lower() for d in args.support_domain),
            support_addresses=frozenset(a.lower() for a in args.support_address),
            slack_agent_user_ids=frozenset(args.slack_agent_id),
        ),
        dedupe_threshold=args.dedupe_threshold,
        near_dedupe=not args.no_near_dedupe,
        max_per_intent=args.max_per_intent,
        test_fraction=args.test_fraction,
        min_examples_to_split=args.min_examples_to_split,
        context_turns=args.context_turns,
        seed=args.seed,
        force=args.force,
        workers=args.workers if args.workers is not None else auto_workers(args.input),
    )


def auto_workers(path: Path) -> int:
    """Return the default number of PII-detection processes for an input.

    Args:
        path: The transcript file or folder.

    Returns:
        One per CPU core (at most :data:`AUTO_WORKERS_MAX`) for a large input, else 1.

    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cores or cores < 2:
        return 1
    try:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
    except OSError:
        return 1
    return min(cores, AUTO_WORKERS_MAX) if size >= AUTO_WORKERS_MIN_BYTES else 1


def run(args: argparse.Namespace) -> int:
    """Run ``prepare`` and log a summary.

    Args:
        args: Parsed by a parser set up with :func:`configure`.

    Returns:
        0 on success, 1 on bad input or an output conflict.

    """
    try:
        options = options_from_args(args)
        replacement = "pseudonym" if getattr(args, "pseudonyms", False) else "placeholder"
        names = getattr(args, "names", "spacy")
        result = prepare(options, Redactor(RedactionConfig(replacement=replacement, names=names)))
    except BotError as e:
        logger.error("prepare failed: %s", e.message)
        return 1
    report = result.report.ingest
    logger.info(
        "read %d records: %d conversations accepted, %d rejected %s",
        report.read,
        report.accepted,
        report.total_rejected,
        dict(sorted(report.rejected.items())),
    )
    logger.info("outputs under %s: %s", options.out, ", ".join(outputs(options)))
    if result.changed:
        logger.info("changed: %s", ", ".join(result.written))
    else:
        logger.info("nothing changed: every output was already up to date")
    return 0
