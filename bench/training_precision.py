r"""Benchmark: fine-tuning in float32 against bfloat16 autocast, same data, same seed.

Runs both real training loops twice each, in one process, once per precision:

* the response generator (:func:`bot.nlg.generation.checkpoint.train_generator`, SmolLM2,
  full fine-tuning or LoRA) for ``--gen-steps`` optimiser steps on generation pairs, with
  grounding prompts built exactly as ``rasa train`` builds them;
* the intent encoder (:func:`bot.nlu.train_loop.fine_tune`, MiniLM) for ``--intent-epochs``
  epochs on labelled examples, with its 10% calibration hold-out.

It reports seconds per step, the speed-up of bf16 over fp32, and what each run learned
(generator: mean loss of the last steps and the largest per-step loss gap between the two
precisions, which see identical batches; intent encoder: hold-out accuracy). A short
warm-up run comes first so that neither precision pays for loading libraries.

    .venv/bin/python bench/training_precision.py
    .venv/bin/python bench/training_precision.py \
        --pairs ../shared/datasets/bitext_support/bitext_support_qa.csv \
        --intent-data ../shared/datasets/banking77/train.csv --intent-examples 3000

The result goes to ``bench/results/training_precision.json``; a Markdown table to stdout.
``precision: auto`` (the default of both components) picks bf16 only where
:func:`common.precision.has_native_bf16` says the device computes it natively.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlg.generation.checkpoint import train_generator  # noqa: E402
from bot.nlg.generation.fine_tune import GenerationTrainConfig  # noqa: E402
from bot.nlg.generation.model import load_tokenizer  # noqa: E402
from bot.nlg.generation.pairs import GenerationPair, read_pairs  # noqa: E402
from bot.nlu.intent_model import FineTuneConfig  # noqa: E402
from bot.nlu.train_loop import fine_tune  # noqa: E402
from common.embeddings import MiniLMEmbedder  # noqa: E402
from common.precision import has_native_bf16  # noqa: E402
from training.intent_data import load_examples  # noqa: E402

PRECISIONS = ("fp32", "bf16")


def _pairs(path: Path, count: int, seed: int) -> list[GenerationPair]:
    if path.suffix.lower() == ".csv":
        from training.evaluate.responses import bitext_pairs

        pairs = bitext_pairs(path)
    else:
        pairs = read_pairs(path)
    random.Random(seed).shuffle(pairs)
    return pairs[:count]


def _generator_runs(args: argparse.Namespace) -> dict[str, Any]:
    pairs = _pairs(args.pairs, args.gen_steps * args.batch_size, args.seed)
    embedder = MiniLMEmbedder().load()
    tokenizer = load_tokenizer()
    config = GenerationTrainConfig(
        method=args.method,
        max_steps=args.gen_steps,
        batch_size=args.batch_size,
        learning_rate=1e-4 if args.method == "full" else 3e-4,
        max_prompt_tokens=256,
        max_target_tokens=args.max_target_tokens,
        seed=args.seed,
        device="cpu",
        progress=False,
    )
    train_generator(
        pairs[: 2 * args.batch_size],
        replace(config, max_steps=2),
        embedder=embedder,
        tokenizer=tokenizer,
    )  # warm-up
    runs: dict[str, Any] = {}
    losses: dict[str, list[float]] = {}
    for name in PRECISIONS:
        trained = train_generator(
            pairs, replace(config, precision=name), embedder=embedder, tokenizer=tokenizer
        )
        report = trained.report
        losses[name] = list(report["losses"])
        tail = losses[name][-max(1, len(losses[name]) // 4) :]
        runs[name] = {
            "steps": report["steps"],
            "seconds": report["train_seconds"],
            "seconds_per_step": round(report["train_seconds"] / max(report["steps"], 1), 3),
            "first_loss": losses[name][0],
            "mean_loss_last_quarter": round(statistics.mean(tail), 4),
        }
    gaps = [abs(a - b) for a, b in zip(losses["fp32"], losses["bf16"], strict=False)]
    return {
        "pairs": len(pairs),
        "method": args.method,
        "batch_size": args.batch_size,
        "max_target_tokens": args.max_target_tokens,
        "runs": runs,
        "speedup": round(runs["fp32"]["seconds"] / runs["bf16"]["seconds"], 2),
        "max_step_loss_gap": round(max(gaps), 4) if gaps else None,
    }


def _intent_runs(args: argparse.Namespace) -> dict[str, Any]:
    examples = load_examples(args.intent_data)
    random.Random(args.seed).shuffle(examples)
    examples = examples[: args.intent_examples] if args.intent_examples else examples
    texts = [e.text for e in examples]
    labels = [e.label for e in examples]
    # One model per precision (no refit), so that the steps, times and hold-out accuracy
    # all belong to the same training loop.
    config = FineTuneConfig(epochs=args.intent_epochs, seed=args.seed, progress=False, refit=False)
    fine_tune(texts[:64], labels[:64], replace(config, epochs=1, calibration_split=0.0))
    runs: dict[str, Any] = {}
    for name in PRECISIONS:
        result = fine_tune(texts, labels, replace(config, precision=name))
        runs[name] = {
            "steps": result.steps,
            "seconds": round(result.train_seconds, 2),
            "seconds_per_step": round(result.train_seconds / max(result.steps, 1), 3),
            "final_epoch_loss": round(result.losses[-1], 4),
            "holdout_accuracy": round(result.holdout_accuracy or 0.0, 4),
        }
    return {
        "examples": len(texts),
        "intents": len(set(labels)),
        "epochs": args.intent_epochs,
        "runs": runs,
        "speedup": round(runs["fp32"]["seconds"] / runs["bf16"]["seconds"], 2),
    }


def _machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "native_bf16": has_native_bf16(torch.device("cpu")),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
    }


def _markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        f"Training precision on {machine['cpu_count']} CPU cores "
        f"(native bf16: {machine['native_bf16']}), {report['date']}, "
        f"load average before {report['load_before']}",
        "",
        "| loop | precision | steps | s/step | bf16 speed-up | learned |",
        "|---|---|---:|---:|---:|---|",
    ]
    loops = {
        "generator": lambda part: f"generator ({part['method']}, {part['pairs']} pairs)",
        "intent": lambda part: f"intent encoder ({part['examples']} examples)",
    }
    learned = {
        "generator": lambda run: (
            f"loss {run['first_loss']:.3f} → {run['mean_loss_last_quarter']:.3f}"
        ),
        "intent": lambda run: f"hold-out accuracy {100 * run['holdout_accuracy']:.1f}%",
    }
    for key, label in loops.items():
        part = report.get(key)
        for name, run in (part or {}).get("runs", {}).items():
            speedup = part["speedup"] if name == "bf16" else 1.0
            lines.append(
                f"| {label(part)} | {name} | {run['steps']} | {run['seconds_per_step']} "
                f"| {speedup:.2f}x | {learned[key](run)} |"
            )
    if report.get("generator", {}).get("max_step_loss_gap") is not None:
        lines.append(
            "\nLargest per-step generator loss gap between fp32 and bf16: "
            f"{report['generator']['max_step_loss_gap']}"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=Path, default=ROOT / "data" / "generation" / "pairs.jsonl")
    parser.add_argument("--gen-steps", type=int, default=16, help="0: skip the generator")
    parser.add_argument("--method", default="full", choices=["full", "lora"])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-target-tokens", type=int, default=192)
    parser.add_argument("--intent-data", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--intent-examples", type=int, default=0, help="0: all")
    parser.add_argument("--intent-epochs", type=int, default=3, help="0: skip the encoder")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "training_precision.json"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "machine": _machine(),
    }
    if args.gen_steps > 0:
        report["generator"] = _generator_runs(args)
    if args.intent_epochs > 0:
        report["intent"] = _intent_runs(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(_markdown(report))


if __name__ == "__main__":
    main()
