"""Command line: ``python -m training.evaluate intents --train F --test F [--oos NAME=F]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.errors import BotError
from bot.pretrained import ensure_offline


def _oos_arg(value: str) -> tuple[str, Path]:
    name, sep, path = value.partition("=")
    if not sep:
        return Path(value).name or value, Path(value)
    return name, Path(path)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    intents = sub.add_parser(
        "intents", help="this project's intent classifier against Rasa's DIET, same run"
    )
    intents.add_argument("--train", type=Path, required=True, help="nlu.yml, CSV or seq.in dir")
    intents.add_argument("--test", type=Path, required=True, help="in-scope test data")
    intents.add_argument(
        "--oos",
        type=_oos_arg,
        action="append",
        default=[],
        metavar="[NAME=]PATH",
        help="out-of-scope texts (repeatable); labels are ignored",
    )
    intents.add_argument("--threshold", type=float, default=0.5, help="fallback threshold")
    intents.add_argument(
        "--systems", default="transformer,diet", help="comma-separated: transformer,diet"
    )
    intents.add_argument("--diet-epochs", type=int, default=100, help="Rasa's default is 100")
    intents.add_argument("--epochs", type=int, help="override the classifier's epochs")
    intents.add_argument("--device", help="classifier device: auto, cpu, cuda")
    intents.add_argument("--seed", type=int, default=42)
    intents.add_argument("--name", default="", help="dataset name for the report")
    intents.add_argument("--out", type=Path, default=Path("bench/results/intents.json"))
    intents.add_argument("--markdown", type=Path, help="defaults to --out with .md")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments, defaulting to ``sys.argv[1:]``.

    Returns:
        The exit status.
    """
    ensure_offline()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    from training.evaluate.intents import IntentEvalConfig, evaluate_intents

    options = {k: v for k, v in {"epochs": args.epochs, "device": args.device}.items() if v}
    config = IntentEvalConfig(
        train=args.train,
        test=args.test,
        oos=dict(args.oos),
        threshold=args.threshold,
        systems=tuple(s.strip() for s in args.systems.split(",") if s.strip()),
        transformer_options=options,
        diet_epochs=args.diet_epochs,
        seed=args.seed,
        out_json=args.out,
        out_markdown=args.markdown or args.out.with_suffix(".md"),
        dataset_name=args.name,
    )
    try:
        evaluate_intents(config)
    except BotError as e:
        logging.getLogger(__name__).error("%s", e)
        return 2
    sys.stdout.write(Path(config.out_markdown).read_text(encoding="utf-8"))
    sys.stdout.write(f"\nFull results: {config.out_json}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
