"""End to end: ``build-bot``, ``rasa train`` and the replay of held-out conversations.

``--dataset bitext`` (the default) reads the shared Bitext CSV (labelled single-turn
request/reply pairs); ``--dataset taskmaster4`` reads the shared Taskmaster-4 folder
(1,000 unlabelled multi-turn coffee-ordering conversations: build-bot discovers the
intents and, with ``--accept-proposals``, uses them without review).

Each stage runs as a child process (as a user would run it) and is timed: build-bot on the
shared Bitext CSV (request/reply pairs with intents; read from ``../shared/datasets``, never
copied), ``rasa train`` in the built project, then ``python -m training.evaluate
conversations`` on the project's ``heldout/conversations.jsonl`` with the nearest-past-reply
baseline in the same run. The replay runs against the project's action server (``rasa run
actions`` on a free loopback port, started here, with a fresh SQLite handoff queue), so a
turn the bot hands over is scored on the message the customer gets ("I've passed this to a
person on our team...") rather than on nothing. ``--intents N`` keeps the N most frequent
intents (a subset written to a temporary CSV) to bound the time on a shared CPU.

Usage:
    .venv/bin/python bench/build_bot.py [--dataset bitext|taskmaster4] [--intents 0] [--keep DIR]
        [--limit 0] [--replay-only]

``--replay-only`` (with ``--keep``) replays again with the bot a previous run built and
trained in that folder; the build and training times are then not measured (null).

Prints the replay report and writes ``bench/results/build_bot.json`` (Taskmaster-4:
``build_bot_taskmaster4.json``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BITEXT = ROOT.parent / "shared" / "datasets" / "bitext_support" / "bitext_support_qa.csv"
TASKMASTER = ROOT.parent / "shared" / "datasets" / "taskmaster4"
RESULTS = ROOT / "bench" / "results"

sys.path.insert(0, str(ROOT))
from loopback.ports import free_port  # noqa: E402
from loopback.processes import stop_processes  # noqa: E402
from loopback.rasa_server import wait_http  # noqa: E402


def _subset(source: Path, target: Path, top: int) -> dict[str, int]:
    with source.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    counts = Counter(r["intent"] for r in rows)
    keep = {i for i, _ in counts.most_common(top)} if top else set(counts)
    with target.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["intent"] in keep)
    return {i: counts[i] for i in sorted(keep)}


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True)
    return time.perf_counter() - started


def _replay_endpoints(bot: Path, actions_url: str) -> Path:
    """The project's endpoints with the replay's action server and a fresh handoff queue."""
    config = yaml.safe_load((bot / "endpoints.yml").read_text(encoding="utf-8")) or {}
    queue = bot / "eval" / "replay-handoff.db"
    for stale in queue.parent.glob(queue.name + "*"):
        stale.unlink()
    config["action_endpoint"] = {"url": actions_url}
    config["handoff_queue"] = {"type": "sqlite", "path": str(queue)}
    path = bot / "eval" / "replay-endpoints.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@contextmanager
def _action_server(bot: Path, env: dict[str, str]) -> Iterator[tuple[Path, str]]:
    """Run the project's action server on a free loopback port.

    Yields:
        The replay's endpoints file and the action server's webhook URL.
    """
    (bot / "eval").mkdir(exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhook"
    endpoints = _replay_endpoints(bot, url)
    rasa = str(Path(sys.executable).with_name("rasa"))
    with (bot / "eval" / "actions.log").open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [rasa, "run", "actions", "--actions", "actions", "--port", str(port)],
            cwd=bot,
            env={**env, "BOT_ENDPOINTS": str(endpoints), "SANIC_HOST": "127.0.0.1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/health", proc, timeout=120)
            yield endpoints, url
        finally:
            stop_processes([proc])


def main() -> int:
    """Run the three stages and record their times and the replay's figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--intents", type=int, default=0, help="N most frequent intents (0: all)")
    parser.add_argument("--limit", type=int, default=0, help="replay only N conversations")
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it")
    parser.add_argument("--dataset", choices=["bitext", "taskmaster4"], default="bitext")
    parser.add_argument("--data", type=Path, help="the Bitext CSV or the Taskmaster-4 folder")
    parser.add_argument(
        "--replay-only", action="store_true", help="reuse the bot trained in --keep"
    )
    args = parser.parse_args()
    taskmaster = args.dataset == "taskmaster4"
    source = args.data or (TASKMASTER if taskmaster else BITEXT)
    if taskmaster and args.intents:
        parser.error("--intents applies to the labelled Bitext CSV only")
    if args.replay_only and not (
        args.keep and (args.keep / f"{args.dataset}-bot" / "models" / "bot.tar.gz").is_file()
    ):
        parser.error("--replay-only needs --keep DIR with a bot a previous run trained")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        "TOKENIZERS_PARALLELISM": "false",
    }
    python, rasa = sys.executable, str(Path(sys.executable).with_name("rasa"))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if taskmaster:
            data, intents, extra = source, {}, ["--accept-proposals"]
        else:
            data, extra = work / "bitext_subset.csv", []
            intents = _subset(source, data, args.intents)
        bot = work / f"{args.dataset}-bot"
        times: dict[str, float | None] = {"build_bot_s": None, "rasa_train_s": None}
        if not args.replay_only:
            times["build_bot_s"] = _timed(
                [python, "-m", "training", "build-bot", "--input", str(data), "--out", str(bot)]
                + ["--name", args.dataset.capitalize(), "--drop-conflicts", "--drop-thin-intents"]
                + extra,
                ROOT,
                env,
            )
            times["rasa_train_s"] = _timed(
                [rasa, "train", "--domain", "domain", "--out", "models"]
                + ["--fixed-model-name", "bot"],
                bot,
                env,
            )
        with _action_server(bot, env) as (endpoints, actions_url):
            times["replay_s"] = _timed(
                [python, "-m", "training.evaluate", "conversations"]
                + ["--model", "models/bot.tar.gz", "--conversations", "heldout/conversations.jsonl"]
                + ["--endpoints", str(endpoints), "--actions", actions_url]
                + ["--pairs", "data/generation/pairs.jsonl", "--out", "eval"]
                + (["--limit", str(args.limit)] if args.limit else []),
                bot,
                env,
            )
        report = json.loads((bot / "eval" / "conversations.json").read_text())
        build = json.loads((bot / "build_report.json").read_text())
    result = {
        "dataset": source.name,
        "intents": intents or {i["intent"]: i["conversations"] for i in build["intents"]},
        "rows": sum(intents.values()) if intents else build["conversations"],
        "routes": build["routes"],
        "plans": [
            {k: i.get(k) for k in ("intent", "conversations", "route", "slot", "after_slot")}
            for i in build["intents"]
        ],
        "times": {k: None if v is None else round(v, 1) for k, v in times.items()},
        "replay": report,
    }
    out = RESULTS / ("build_bot.json" if not taskmaster else "build_bot_taskmaster4.json")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps({k: v for k, v in result.items() if k != "replay"}, indent=2))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
