"""``python -m training pii-ner``: train the MiniLM name and address tagger into the cache.

Also writes held-out generated examples (templates the training never sees) as an
annotated JSONL set for ``bench/pii.py`` with ``--dev-out``.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from pathlib import Path

from common.privacy.tagger import default_model_dir
from training.pii_ner.generate import ExampleGenerator
from training.pii_ner.train import TrainConfig, train

logger = logging.getLogger(__name__)
DEV_SEED = 9001


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    defaults = TrainConfig()
    parser.add_argument(
        "--out", type=Path, default=None, help="where the tagger goes (default .cache/pii-ner)"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--generated", type=int, default=defaults.generated)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--layers", type=int, default=defaults.layers)
    parser.add_argument("--frozen-layers", type=int, default=defaults.frozen_layers)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument(
        "--dev-out",
        type=Path,
        default=None,
        help="only write held-out generated examples (JSONL) here, and train nothing",
    )
    parser.add_argument("--dev-count", type=int, default=500)


def run(args: argparse.Namespace) -> int:
    """Train the tagger (or write the held-out set); return the exit status."""
    if args.dev_out is not None:
        examples = ExampleGenerator(DEV_SEED).examples(args.dev_count, held_out=True)
        args.dev_out.parent.mkdir(parents=True, exist_ok=True)
        with args.dev_out.open("w", encoding="utf-8") as fh:
            for e in examples:
                spans = [{"start": s, "end": t, "type": k} for s, t, k in e.spans]
                fh.write(json.dumps({"text": e.text, "spans": spans}, ensure_ascii=False) + "\n")
        logger.info("wrote %d held-out examples to %s", len(examples), args.dev_out)
        return 0
    config = TrainConfig(
        seed=args.seed,
        generated=args.generated,
        epochs=args.epochs,
        layers=args.layers,
        frozen_layers=args.frozen_layers,
        learning_rate=args.learning_rate,
    )
    out = args.out or default_model_dir()
    logger.info("training the PII tagger: %s", asdict(config))
    report = train(config, out)
    logger.info(
        "saved to %s: %d examples, %d steps, %.0f s, final loss %.4f",
        out,
        report.examples,
        report.steps,
        report.seconds,
        report.final_loss,
    )
    return 0
