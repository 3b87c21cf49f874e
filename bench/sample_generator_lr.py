"""Benchmark: the sample bot's generator at several learning rates, by guard pass rate.

Trains the generator exactly as ``rasa train`` does for the sample bot (the
``ResponseGenerator`` options of ``config.yml``, the 250 pairs of
``data/generation/pairs.jsonl``), once per learning rate, then asks each trained model six
product questions on the web, Slack and email channels and counts the replies that pass
every guardrail (a failed reply is replaced by the company's past reply or the fallback in
the running bot). Three of the questions are in the pairs file, three are not.

    .venv/bin/python bench/sample_generator_lr.py --learning-rates 3e-4,1e-3

The result goes to ``bench/results/sample_generator_lr.json``; a Markdown table to stdout.
Greedy decoding, so a rerun on the same machine gives the same replies when the time
budget does not cut training (``stopped_by`` in the table).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlg.generation.checkpoint import train_generator  # noqa: E402
from bot.nlg.generation.pairs import read_pairs  # noqa: E402
from bot.nlu.response_generator import ResponseGenerator  # noqa: E402

QUESTIONS = (
    "is the 2-person tent waterproof?",
    "do your boots run small?",
    "can I wash the down jacket?",
    "does the stove work at altitude?",
    "how warm is the sleeping bag?",
    "is the backpack carry-on size?",
)
CHANNELS = ("slack", "email", "web")
COMPONENT = "bot.nlu.response_generator.ResponseGenerator"


def _sample_bot_options(config_path: Path) -> dict[str, Any]:
    pipeline = yaml.safe_load(config_path.read_text(encoding="utf-8"))["pipeline"]
    for step in pipeline:
        if step.get("name") == COMPONENT:
            return {k: v for k, v in step.items() if k != "name"}
    raise SystemExit(f"{config_path}: no {COMPONENT} in the pipeline")


def main() -> None:
    """Run the benchmark and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--learning-rates", default="3e-4,1e-3")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "sample_generator_lr.json"
    )
    args = parser.parse_args()
    options = _sample_bot_options(args.config)
    # The component's own option parsing, so that the run matches `rasa train`.
    train_config, generator_options, guard_config = ResponseGenerator._configs(options)
    pairs = read_pairs(ROOT / options.get("pairs", "data/generation/pairs.jsonl"))
    results: dict[str, Any] = {}
    for rate in (float(r) for r in args.learning_rates.split(",")):
        trained = train_generator(
            pairs,
            replace(train_config, learning_rate=rate, progress=False),
            generator_options,
            guard_config,
        )
        passed, failures = 0, {}
        for question in QUESTIONS:
            for channel in CHANNELS:
                result = trained.generator.generate([], question, channel)
                passed += not result.guard_failures
                for code in result.guard_failures:
                    failures[code] = failures.get(code, 0) + 1
        results[f"{rate:g}"] = {
            "steps": trained.report["steps"],
            "train_seconds": trained.report["train_seconds"],
            "stopped_by": trained.report["stopped_by"],
            "passed": passed,
            "asked": len(QUESTIONS) * len(CHANNELS),
            "guard_failures": failures,
        }
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"Sample bot generator, {report['date']}, {report['cpu_count']} cores, "
        f"load average {report['load_average']}",
        "",
        "| learning rate | steps | train s | stopped by | replies passing the guards | failures |",
        "|---|---:|---:|---|---:|---|",
    ]
    for rate, row in results.items():
        lines.append(
            f"| {rate} | {row['steps']} | {row['train_seconds']} | {row['stopped_by']} "
            f"| {row['passed']} of {row['asked']} | {row['guard_failures'] or '-'} |"
        )
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
