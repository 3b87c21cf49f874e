"""Throughput of ``python -m training prepare`` on a generated load of 100,000 conversations.

The load repeats and perturbs the shared data sets (never copied into the repository):
Bitext customer-support request/reply pairs become labelled web conversations (some with a
follow-up turn, some with planted PII) and Taskmaster-4 dialogues become unlabelled
ones. It is written into a temporary folder, then ``prepare`` runs on it in a child process
so that its peak memory (max RSS of the child) is measured alone.

Usage:
    .venv/bin/python bench/prepare.py [--conversations 100000] [--taskmaster-share 0.2]
                                      [--seed 0] [--keep DIR] [-- extra prepare options]

Prints a Markdown table and writes ``bench/results/prepare.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
BITEXT = SHARED / "bitext_support" / "bitext_support_qa.csv"
TASKMASTER = SHARED / "taskmaster4"
RESULTS = ROOT / "bench" / "results" / "prepare.json"
TARGET_S = 600.0

PREFIXES = ("", "", "hi, ", "hello ", "hey there, ", "good morning, ", "sorry to bother you, ")
SUFFIXES = ("", "", " please", " thanks", "!!", " asap", " thank you so much", "?")
FOLLOW_UPS = ("thanks!", "ok, and how long will that take?", "great, thank you", "that didn't help")
AGENT_FOLLOW_UPS = ("You're welcome!", "It usually takes 3-5 business days.", "Sorry to hear that.")
NAMES = ("Anna Schmidt", "Marco Rossi", "Priya Patel", "Tom Becker", "Aiko Tanaka")


def perturb(text: str, rng: random.Random) -> str:
    """Return a lightly changed copy of a customer message (case, fillers, a typo)."""
    words = text.split()
    roll = rng.random()
    if roll < 0.2 and len(words) > 3:
        del words[rng.randrange(len(words))]
    elif roll < 0.4 and len(words) > 1:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    out = " ".join(words)
    if rng.random() < 0.3:
        out = out.lower()
    return rng.choice(PREFIXES) + out + rng.choice(SUFFIXES)


def plant_pii(text: str, rng: random.Random, n: int) -> str:
    """Append personal data to some messages, as customers do."""
    kind = rng.randrange(4)
    if kind == 0:
        return f"{text} my email is customer{n}@example.com"
    if kind == 1:
        return f"{text} - call me on +44 20 7946 {n % 10000:04d}"
    if kind == 2:
        return f"{text} order PC-{100000 + n % 900000}"
    return f"Hi, my name is {rng.choice(NAMES)}. {text}"


def bitext_rows() -> list[tuple[str, str, str]]:
    """Read (instruction, intent, response) from the shared Bitext CSV."""
    with BITEXT.open(encoding="utf-8", newline="") as f:
        return [(r["instruction"], r["intent"], r["response"]) for r in csv.DictReader(f)]


def taskmaster_dialogues() -> list[list[tuple[str, str]]]:
    """Read the Taskmaster-4 dialogues as (speaker, text) lists."""
    dialogues = []
    for path in sorted(TASKMASTER.glob("*.json")):
        for d in json.loads(path.read_text(encoding="utf-8")):
            turns = [(u["speaker"], u["text"]) for u in d.get("utterances", []) if u.get("text")]
            if turns:
                dialogues.append(turns)
    return dialogues


def bitext_conversations(count: int, rng: random.Random) -> Iterator[dict[str, object]]:
    """Generate labelled conversations from Bitext rows."""
    rows = bitext_rows()
    for n in range(count):
        instruction, intent, response = rows[n % len(rows)]
        text = instruction if n < len(rows) else perturb(instruction, rng)
        if rng.random() < 0.1:
            text = plant_pii(text, rng, n)
        turns = [
            {"role": "customer", "text": text, "intent": intent},
            {"role": "agent", "text": response},
        ]
        if rng.random() < 0.25:
            turns += [
                {"role": "customer", "text": rng.choice(FOLLOW_UPS)},
                {"role": "agent", "text": rng.choice(AGENT_FOLLOW_UPS)},
            ]
        yield {"id": f"bx-{n}", "channel": "web", "turns": turns}


def taskmaster_conversations(count: int, rng: random.Random) -> Iterator[dict[str, object]]:
    """Generate unlabelled dialogues from Taskmaster-4, perturbing the user's turns."""
    dialogues = taskmaster_dialogues()
    for n in range(count):
        turns = dialogues[n % len(dialogues)]
        first = n < len(dialogues)
        yield {
            "conversation_id": f"tm-{n}",
            "utterances": [
                {"speaker": s, "text": t if first or s.lower() != "user" else perturb(t, rng)}
                for s, t in turns
            ],
        }


def generate(folder: Path, conversations: int, taskmaster_share: float, seed: int) -> None:
    """Write the load: one JSONL file of Bitext conversations, Taskmaster JSON arrays."""
    rng = random.Random(seed)
    n_tm = round(conversations * taskmaster_share)
    with (folder / "bitext.jsonl").open("w", encoding="utf-8") as f:
        for c in bitext_conversations(conversations - n_tm, rng):
            f.write(json.dumps(c) + "\n")
    batch: list[dict[str, object]] = []
    part = 0
    for dialogue in taskmaster_conversations(n_tm, rng):
        batch.append(dialogue)
        if len(batch) == 5000:
            (folder / f"taskmaster_{part:03d}.json").write_text(json.dumps(batch))
            batch, part = [], part + 1
    if batch:
        (folder / f"taskmaster_{part:03d}.json").write_text(json.dumps(batch))


def main() -> int:
    """Generate the load, run prepare on it, report time and memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--taskmaster-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write the load and output here, and keep it")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("extra", nargs="*", help="extra options for prepare (after --)")
    args = parser.parse_args()
    if not BITEXT.is_file() or not TASKMASTER.is_dir():
        print(f"shared datasets missing under {SHARED}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        base = args.keep or Path(tmp)
        load, out = base / "load", base / "out"
        load.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        generate(load, args.conversations, args.taskmaster_share, args.seed)
        generated_s = time.perf_counter() - started
        load_before = os.getloadavg()
        command = [sys.executable, "-m", "training", "prepare", "--input", str(load)]
        command += ["--out", str(out), "--force", *args.extra]
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        load_after = os.getloadavg()
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return proc.returncode
        timings = [line for line in proc.stderr.splitlines() if "timings:" in line]
        embedder = [line for line in proc.stderr.splitlines() if "near-dedupe embedder:" in line]
        workers = _workers(args.extra, load)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb = usage.ru_maxrss / 1024
        cpu_s = usage.ru_utime + usage.ru_stime
        report = json.loads((out / "prepare_report.json").read_text())
    result = {
        "conversations": args.conversations,
        "taskmaster_share": args.taskmaster_share,
        "extra_options": args.extra,
        "workers": workers,
        "embedder": embedder[-1].split("embedder: ", 1)[-1] if embedder else None,
        "accepted": report["ingest"]["accepted"],
        "turns": report["ingest"]["turns"],
        "wall_s": round(wall, 1),
        "conversations_per_s": round(report["ingest"]["accepted"] / wall, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "child_cpu_s": round(cpu_s, 1),
        "target_s": TARGET_S,
        # The target is for 100,000 conversations; smaller runs only project linearly.
        "within_target": wall <= TARGET_S if args.conversations >= 100_000 else None,
        "projected_100k_s": round(wall / max(report["ingest"]["accepted"], 1) * 100_000),
        "generate_s": round(generated_s, 1),
        "phases": timings[-1].split("timings: ", 1)[-1] if timings else None,
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "intents": report["nlu"]["intents"],
        "nlu_totals": report["nlu"]["totals"],
        "duplicates_removed": report["nlu"]["duplicates_removed"],
        "unlabelled_openers": report["unlabelled_openers"],
        "pairs": report["pairs"],
        "pii_redacted": report["pii_redacted"],
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print("| metric | value |\n|---|---:|")
    keys = ("conversations", "accepted", "wall_s", "child_cpu_s", "conversations_per_s")
    for key in (*keys, "peak_rss_mb", "projected_100k_s"):
        print(f"| {key} | {result[key]} |")
    print(f"| within {TARGET_S:.0f} s | {result['within_target']} |")
    print(f"| phases | {result['phases']} |")
    print(f"| load average before/after | {load_before[0]:.2f} / {load_after[0]:.2f} |")
    return 0


def _workers(extra: list[str], load: Path) -> int:
    """The PII-detection processes the run used: ``--workers`` or the CLI's default."""
    for i, option in enumerate(extra):
        if option == "--workers" and i + 1 < len(extra):
            return int(extra[i + 1])
        if option.startswith("--workers="):
            return int(option.split("=", 1)[1])
    sys.path.insert(0, str(ROOT))
    from training.prepare.cli import auto_workers

    return auto_workers(load)


if __name__ == "__main__":
    sys.exit(main())
