"""Command line for the side-by-side evaluations.

``python -m training.evaluate intents --train F --test F [--oos NAME=F]``,
``python -m training.evaluate responses --pairs F [--test F]`` and
``python -m training.evaluate answers --kb KB_OUT --questions F [--split dev|test]`` and
``python -m training.evaluate conversations --model M --conversations F [--actions URL]``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import yaml

from common.errors import BotError
from common.pretrained import ensure_offline


def _oos_arg(value: str) -> tuple[str, Path]:
    name, sep, path = value.partition("=")
    if not sep:
        return Path(value).name or value, Path(value)
    return name, Path(path)


def _option_arg(value: str) -> tuple[str, Any]:
    """Parse ``KEY=VALUE`` for a classifier option: a number, else a YAML value.

    Raises:
        argparse.ArgumentTypeError: There is no ``=`` or no key.
    """
    key, sep, raw = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {value!r}")
    for number in (int, float):  # PyYAML reads "5e-5" as a string
        try:
            return key.strip(), number(raw)
        except ValueError:
            pass
    return key.strip(), yaml.safe_load(raw)


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
    intents.add_argument(
        "--option",
        type=_option_arg,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one of the classifier's config.yml options (repeatable)",
    )
    intents.add_argument("--seed", type=int, default=42)
    intents.add_argument("--name", default="", help="dataset name for the report")
    intents.add_argument("--out", type=Path, default=Path("bench/results/intents.json"))
    intents.add_argument("--markdown", type=Path, help="defaults to --out with .md")
    responses = sub.add_parser(
        "responses", help="fine-tuned generator against retrieval and the base model, same run"
    )
    responses.add_argument(
        "--pairs", type=Path, required=True, help="generation pairs JSONL or Bitext's CSV"
    )
    responses.add_argument("--test", type=Path, help="held-back pairs (else --test-fraction)")
    responses.add_argument("--test-fraction", type=float, default=0.1)
    responses.add_argument("--max-train-pairs", type=int, default=2000, help="0: all")
    responses.add_argument("--max-test", type=int, default=100, help="0: all")
    responses.add_argument(
        "--test-offset",
        type=int,
        default=0,
        help="skip this many held-back pairs first (offset = --max-test: a disjoint draw)",
    )
    responses.add_argument("--systems", default="retrieval,base,fine-tuned")
    responses.add_argument("--epochs", type=int, default=1)
    responses.add_argument("--max-train-seconds", type=float, default=0.0, help="0: no limit")
    responses.add_argument("--max-steps", type=int, default=0, help="0: no limit")
    responses.add_argument("--learning-rate", type=float, default=3e-4)
    responses.add_argument("--method", default="lora", help="lora or full")
    responses.add_argument("--base-model", default="smollm2", help="smollm2 or tiny-random")
    responses.add_argument("--max-target-tokens", type=int, default=128)
    responses.add_argument("--max-new-tokens", type=int, default=128)
    responses.add_argument("--device", default="auto")
    responses.add_argument(
        "--precision", default="auto", help="auto (bf16 where native), fp32 or bf16"
    )
    responses.add_argument(
        "--save-model", type=Path, help="keep the fine-tuned generator in this folder"
    )
    responses.add_argument(
        "--model", type=Path, help="score a generator kept by --save-model instead of training"
    )
    responses.add_argument(
        "--repetition-penalty", type=float, help="override the generators' repetition penalty"
    )
    responses.add_argument(
        "--num-beams", type=int, help="override the generators' beam count (1: greedy)"
    )
    responses.add_argument(
        "--keep-placeholders", action="store_true", help="do not neutralise {{slots}}"
    )
    responses.add_argument("--seed", type=int, default=42)
    responses.add_argument("--out", type=Path, default=Path("bench/results/responses.json"))
    answers = sub.add_parser(
        "answers",
        help="knowledge answers: retrieval, base SmolLM2, ours and today's generator, same run",
    )
    answers.add_argument(
        "--kb", type=Path, required=True, help="output folder of `python -m training kb`"
    )
    answers.add_argument("--questions", type=Path, required=True, help="question set (JSONL)")
    answers.add_argument(
        "--split",
        choices=("dev", "test"),
        default="dev",
        help="which half (default: dev); test is for final reporting only",
    )
    answers.add_argument(
        "--systems",
        default="retrieval,base,ours,generator",
        help="comma-separated: retrieval,base,ours,generator",
    )
    answers.add_argument(
        "--ours-model",
        type=Path,
        help="a trained model (.tar.gz) or generator checkpoint folder, for ours",
    )
    answers.add_argument(
        "--generator-model", type=Path, help="a generator kept by `responses --save-model`"
    )
    answers.add_argument("--base-model", default="smollm2", help="smollm2 or tiny-random")
    answers.add_argument("--max-new-tokens", type=int, default=80)
    answers.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: all cores but one)"
    )
    answers.add_argument(
        "--limit", type=int, default=0, help="only the first N questions of the half (0: all)"
    )
    answers.add_argument("--out", type=Path, default=Path("bench/results/answers"))
    conversations = sub.add_parser(
        "conversations",
        help="replay held-out conversations through a trained bot, scored against the agents",
    )
    conversations.add_argument(
        "--model", type=Path, required=True, help="a model .tar.gz or a folder of them"
    )
    conversations.add_argument(
        "--conversations", type=Path, required=True, help="held-out transcripts (any format)"
    )
    conversations.add_argument(
        "--actions", help="the action server's webhook, e.g. http://127.0.0.1:5055/webhook"
    )
    conversations.add_argument("--endpoints", type=Path, help="endpoints.yml for the NLG endpoint")
    conversations.add_argument(
        "--pairs", type=Path, help="training pairs for the retrieval baseline (same run)"
    )
    conversations.add_argument("--limit", type=int, default=0, help="first N conversations")
    conversations.add_argument("--out", type=Path, default=Path("bench/results/conversations"))
    return parser


def _conversations(args: argparse.Namespace) -> int:
    from training.evaluate.conversations import ReplayConfig, evaluate_conversations

    config = ReplayConfig(
        model=args.model,
        conversations=args.conversations,
        out=args.out,
        actions_url=args.actions,
        endpoints=args.endpoints,
        pairs=args.pairs,
        limit=args.limit,
    )
    evaluate_conversations(config)
    sys.stdout.write((config.out / "conversations.md").read_text(encoding="utf-8"))
    sys.stdout.write(f"\nFull results: {config.out / 'conversations.json'}\n")
    return 0


def _answers(args: argparse.Namespace) -> int:
    from training.evaluate.answers import AnswerEvalConfig, evaluate_answers

    config = AnswerEvalConfig(
        kb=args.kb,
        questions=args.questions,
        split=args.split,
        systems=tuple(s.strip() for s in args.systems.split(",") if s.strip()),
        generator_model=args.generator_model,
        ours_model=args.ours_model,
        base_model=args.base_model,
        limit=args.limit,
        max_new_tokens=args.max_new_tokens,
        threads=args.threads,
        out=args.out,
    )
    evaluate_answers(config)
    sys.stdout.write((config.out / "answers.md").read_text(encoding="utf-8"))
    sys.stdout.write(f"\nFull results: {config.out / 'answers.json'}\n")
    return 0


def _responses(args: argparse.Namespace) -> int:
    from bot.nlg.generation.fine_tune import GenerationTrainConfig
    from training.evaluate.responses import ResponseEvalConfig, evaluate_responses

    config = ResponseEvalConfig(
        pairs=args.pairs,
        test=args.test,
        test_fraction=args.test_fraction,
        max_train_pairs=args.max_train_pairs,
        max_test=args.max_test,
        test_offset=args.test_offset,
        systems=tuple(s.strip() for s in args.systems.split(",") if s.strip()),
        train=GenerationTrainConfig(
            base_model=args.base_model,
            method=args.method,
            epochs=args.epochs,
            max_steps=args.max_steps,
            max_train_seconds=args.max_train_seconds,
            learning_rate=args.learning_rate,
            max_target_tokens=args.max_target_tokens,
            device=args.device,
            precision=args.precision,
            seed=args.seed,
        ),
        max_new_tokens=args.max_new_tokens,
        save_model=args.save_model,
        model=args.model,
        repetition_penalty=args.repetition_penalty,
        num_beams=args.num_beams,
        neutralise=not args.keep_placeholders,
        seed=args.seed,
        out_json=args.out,
        out_markdown=args.out.with_suffix(".md"),
    )
    evaluate_responses(config)
    sys.stdout.write(config.out_markdown.read_text(encoding="utf-8"))
    sys.stdout.write(f"\nFull results: {config.out_json}\n")
    return 0


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
    if args.command in ("responses", "answers", "conversations"):
        handlers = {"responses": _responses, "answers": _answers, "conversations": _conversations}
        try:
            return handlers[args.command](args)
        except BotError as e:
            logging.getLogger(__name__).error("%s", e)
            return 2
    from training.evaluate.intents import IntentEvalConfig, evaluate_intents

    options = {k: v for k, v in {"epochs": args.epochs, "device": args.device}.items() if v}
    options.update(dict(args.option))
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
