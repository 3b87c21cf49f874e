"""Soak benchmark: messages over all four channels at once against one Rasa server.

Starts the local fakes (Slack Web API, Telegram Bot API, an SMTP collector), one action
server and one Rasa server with REST, web chat, Slack, Telegram and email enabled (see
``loopback/soak_driver.py``), then sends ``--messages`` messages spread evenly
over the channels, ``--per-sender`` per conversation, ``--concurrency`` conversations
of each channel at once. Every message must be answered exactly once (checked against
Rasa's trackers).

Usage:
    python bench/soak.py [--messages 500] [--per-sender 5] [--concurrency 5]
                         [--model PATH] [--out FILE]

Prints a Markdown table (messages/s, p50/p95 reply latency per channel) and writes
``bench/results/soak.json`` with the machine's description. Exits 1 if a message was not
answered exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopback.soak_driver import SoakPlan, run_soak, soak_bot  # noqa: E402
from training.evaluate.intents import machine_description  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "soak.json"
DEFAULT_MODEL = Path(os.environ.get("SAMPLE_BOT_MODEL") or ROOT / "models" / "pinecrest.tar.gz")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak and report; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500, help="messages in all")
    parser.add_argument("--per-sender", type=int, default=5, help="messages per conversation")
    parser.add_argument(
        "--concurrency", type=int, default=5, help="conversations in flight per channel"
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="trained model")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"no model at {args.model}; run `make train` or pass --model")
    plan = SoakPlan(
        messages=args.messages, per_sender=args.per_sender, concurrency=args.concurrency
    )
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        with soak_bot(args.model, Path(tmp)) as (bot, fakes):
            report = asyncio.run(run_soak(bot, fakes, plan))
    machine = machine_description()
    print(f"# Soak: {plan.messages} messages over four channels, one Rasa server\n")
    print(f"Machine: {machine}\n")
    print(report.markdown())
    for problem in report.problems[:20]:
        print(f"- {problem}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine, "model": args.model.name, **report.to_json()}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if report.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
