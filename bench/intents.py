"""Benchmark: this project's intent classifier against Rasa's default DIET, same run.

Runs ``python -m training.evaluate intents`` on the public data in ``../shared/datasets``
(never copied into the repository) and writes JSON and Markdown under ``bench/results/``.

    .venv/bin/python bench/intents.py                   # both data sets, DIET at 100 epochs
    .venv/bin/python bench/intents.py --diet-epochs 20  # shorter DIET run (say so in reports)
    .venv/bin/python bench/intents.py --only banking77_oos
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets"


def _runs() -> dict[str, list[str]]:
    oos = DATA / "banking77_oos"
    return {
        "banking77": [
            "--train",
            str(DATA / "banking77" / "train.csv"),
            "--test",
            str(DATA / "banking77" / "test.csv"),
            "--name",
            "Banking77 (full, 77 intents)",
        ],
        "banking77_oos": [
            "--train",
            str(oos / "train"),
            "--test",
            str(oos / "test"),
            "--oos",
            f"id-oos={oos / 'id-oos' / 'test'}",
            "--oos",
            f"ood-oos={oos / 'ood-oos' / 'test'}",
            "--name",
            "Banking77-OOS (50 in-scope intents)",
        ],
    }


def main() -> int:
    """Run the configured benchmarks one after the other."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diet-epochs", type=int, default=100)
    parser.add_argument("--only", choices=["banking77", "banking77_oos"])
    parser.add_argument("--systems", default="transformer,diet")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.stderr.write(f"data sets not found at {DATA}\n")
        return 2
    for name, run_args in _runs().items():
        if args.only and name != args.only:
            continue
        out = ROOT / "bench" / "results" / f"intents_{name}.json"
        cmd = [
            sys.executable,
            "-m",
            "training.evaluate",
            "intents",
            *run_args,
            "--diet-epochs",
            str(args.diet_epochs),
            "--systems",
            args.systems,
            "--out",
            str(out),
        ]
        subprocess.run(cmd, check=True, cwd=ROOT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
