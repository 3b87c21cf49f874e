"""``python -m training kb-examples``: (question, passages, answer) examples for the answer writer.

Reads the output of ``python -m training kb`` and the company's generation pairs (and
optionally the question set's dev half), writes the examples as JSONL and a report as JSON
beside them (:mod:`training.knowledge.qa_examples`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from common.errors import BotError
from training.knowledge.questions import TRAINING_SPLIT

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``kb-examples`` arguments to a (sub)parser.

    Args:
        parser: The parser of the ``kb-examples`` command.
    """
    from training.knowledge.qa_examples import (
        DEFAULT_MIN_SOURCE_COSINE,
        DEFAULT_MIN_SUPPORT_SIMILARITY,
        MAX_PASSAGE_CHARS,
        MAX_PASSAGES,
    )

    parser.add_argument(
        "--chunks", type=Path, required=True, help="output folder of `python -m training kb`"
    )
    parser.add_argument(
        "--pairs", type=Path, required=True, help="generation pairs JSONL (customer -> agent)"
    )
    parser.add_argument(
        "--questions",
        type=Path,
        help="question set JSONL: its dev half gives examples, its test half is kept out",
    )
    parser.add_argument(
        "--split",
        default=TRAINING_SPLIT,
        help="the question set's half to train on; only 'dev' (the test half is refused)",
    )
    parser.add_argument("--out", type=Path, required=True, help="examples JSONL to write")
    parser.add_argument(
        "--k", type=int, default=MAX_PASSAGES, help="passages per example (default %(default)s)"
    )
    parser.add_argument(
        "--max-passage-chars",
        type=int,
        default=MAX_PASSAGE_CHARS,
        help="characters per passage (default %(default)s)",
    )
    parser.add_argument(
        "--min-support-similarity",
        type=float,
        default=DEFAULT_MIN_SUPPORT_SIMILARITY,
        help="MiniLM cosine of a pair's reply to its closest passage (default %(default)s)",
    )
    parser.add_argument(
        "--min-source-cosine",
        type=float,
        default=DEFAULT_MIN_SOURCE_COSINE,
        help="below this best question-passage cosine a pair becomes a decline example "
        "(default %(default)s, the answer gate's)",
    )
    parser.add_argument(
        "--product-name",
        action="append",
        default=[],
        metavar="NAME",
        help="a product name the support check looks for (repeatable; model names such as "
        "'Cairn 2' are taken from the chunk titles anyway)",
    )
    parser.add_argument("--device", default="cpu", help="MiniLM device: cpu, cuda or auto")


def run(args: argparse.Namespace) -> int:
    """Build and write the examples.

    Args:
        args: Parsed by a parser set up with :func:`configure`.

    Returns:
        0 on success, 2 on bad input or a refused split.
    """
    from bot.nlg.generation.pairs import read_pairs
    from common.embeddings import MiniLMEmbedder
    from training.knowledge.embed import MINILM_MODEL_NAME
    from training.knowledge.qa_examples import (
        ExampleOptions,
        build_examples,
        file_digest,
        load_knowledge,
        product_names_from_titles,
        write_examples,
    )
    from training.knowledge.questions import check_training_split, read_questions

    try:
        check_training_split(args.split)
        pairs = read_pairs(args.pairs)
        questions = read_questions(args.questions) if args.questions else []
        embedder = MiniLMEmbedder(device=args.device)
        chunks, index = load_knowledge(args.chunks, embedder, MINILM_MODEL_NAME)
        names = {*args.product_name, *product_names_from_titles(c.title for c in chunks)}
        options = ExampleOptions(
            k=args.k,
            max_passage_chars=args.max_passage_chars,
            min_source_cosine=args.min_source_cosine,
            min_support_similarity=args.min_support_similarity,
            product_names=tuple(sorted(names)),
        )
        try:
            examples, report = build_examples(
                chunks, index, embedder, pairs, questions, split=args.split, options=options
            )
        finally:
            index.close()
        report.inputs = {
            "chunks": file_digest(args.chunks / "chunks.jsonl"),
            "pairs": file_digest(args.pairs),
            **({"questions": file_digest(args.questions)} if args.questions else {}),
        }
        path = write_examples(args.out, examples, report, options)
    except BotError as e:
        logger.error("kb-examples failed: %s", e.message)
        return 2
    summary = report.to_dict(options)
    logger.info(
        "%d examples (%s), dropped %s; report: %s",
        summary["examples"],
        summary["kinds"],
        {s: sum(r.values()) for s, r in summary["dropped"].items()},
        path,
    )
    return 0
