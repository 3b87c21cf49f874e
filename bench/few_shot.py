"""Benchmark: intent recognition by data size, this project's classifier against DIET, same run.

Each draw samples a training set of the given size with a fixed seed, and both systems are
trained on it and queried through Rasa by ``training.evaluate.intents`` (as in
``bench/intents.py``). Reports mean and standard deviation over the draws.

    .venv/bin/python bench/few_shot.py --shots 10 --draws 5            # Banking77 10-shot
    .venv/bin/python bench/few_shot.py --shots 5,10 --split dev        # tune: never the test
    .venv/bin/python bench/few_shot.py --fractions 0.1,0.25,1.0        # Banking77 by share
    .venv/bin/python bench/few_shot.py --dataset bitext --shots 10
    .venv/bin/python bench/few_shot.py --dataset banking77_oos --shots 10

``--split dev`` (for choosing a recipe) evaluates on a part of the *training* data that no
draw samples from (Banking77, Bitext: 10 examples per intent carved out with seed 0;
Banking77-OOS: its ``valid`` splits); ``--split test`` (the default) samples draws from the
whole training data and evaluates on the test split. Bitext has no split of its own: 30% of
each intent (seed 0) is its test part. Data are read from ``../shared/datasets`` or
``--data`` and never copied into the repository; results go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import statistics
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.evaluate.intents import (  # noqa: E402
    IntentEvalConfig,
    evaluate_intents,
    machine_description,
)
from training.intent_data import LabelledText, load_examples  # noqa: E402

logger = logging.getLogger("bench.few_shot")

SEEDS = (11, 22, 33, 44, 55)
DEV_PER_INTENT = 10
BITEXT_TEST_SHARE = 0.3
REPORTED = (
    "accuracy",
    "macro_f1",
    "train_seconds",
    "latency_p50_ms",
    "in_scope_accuracy_at_95_retention",
    "id-oos.recall_at_95_retention",
    "ood-oos.recall_at_95_retention",
    "id-oos.auroc",
    "ood-oos.auroc",
)


def by_label(examples: Sequence[LabelledText]) -> dict[str, list[LabelledText]]:
    """Group examples by intent, keeping file order inside each intent."""
    groups: dict[str, list[LabelledText]] = defaultdict(list)
    for example in examples:
        groups[example.label].append(example)
    return groups


def carve(
    examples: Sequence[LabelledText], per_intent: int | None, share: float | None, seed: int
) -> tuple[list[LabelledText], list[LabelledText]]:
    """Split off ``per_intent`` examples (or ``share`` of them) of every intent.

    Args:
        examples: Labelled examples.
        per_intent: How many of each intent to take (all when an intent has fewer).
        share: Or which share of each intent to take (rounded, at least one).
        seed: Sampling seed.

    Returns:
        ``(taken, rest)``.
    """
    rng = random.Random(seed)
    taken: list[LabelledText] = []
    rest: list[LabelledText] = []
    for label in sorted(by_label(examples)):
        group = list(by_label(examples)[label])
        rng.shuffle(group)
        n = per_intent if per_intent is not None else max(1, round(len(group) * (share or 0)))
        taken.extend(group[:n])
        rest.extend(group[n:])
    return taken, rest


def _write_csv(examples: Sequence[LabelledText], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows([e.text, e.label] for e in examples)
    return path


def dataset(
    name: str, data: Path, split: str
) -> tuple[list[LabelledText], Path | list[LabelledText], dict[str, Path]]:
    """Return the pool draws sample from, the evaluation set and any out-of-scope sets.

    Args:
        name: ``banking77``, ``bitext`` or ``banking77_oos``.
        data: The shared data sets folder.
        split: ``dev`` or ``test``.

    Returns:
        ``(pool, evaluation, oos)``: the evaluation set as a path or as examples.
    """
    if name == "banking77":
        train = load_examples(data / "banking77" / "train.csv")
        if split == "test":
            return train, data / "banking77" / "test.csv", {}
        dev, pool = carve(train, DEV_PER_INTENT, None, seed=0)
        return pool, dev, {}
    if name == "bitext":
        rows = load_examples(data / "bitext_support" / "bitext_support_qa.csv")
        test, train = carve(rows, None, BITEXT_TEST_SHARE, seed=0)
        if split == "test":
            return train, test, {}
        dev, pool = carve(train, DEV_PER_INTENT, None, seed=0)
        return pool, dev, {}
    oos = data / "banking77_oos"
    part = "test" if split == "test" else "valid"
    return (
        load_examples(oos / "train"),
        oos / part,
        {"id-oos": oos / "id-oos" / part, "ood-oos": oos / "ood-oos" / part},
    )


def restrict(
    pool: list[LabelledText], evaluation: Path | list[LabelledText], intents: int
) -> tuple[list[LabelledText], list[LabelledText]]:
    """Keep ``intents`` intents (a seed-0 sample of the pool's) in the pool and evaluation.

    For quick runs on a busy machine; the report says how many intents were kept.
    """
    names = sorted({e.label for e in pool})
    keep = set(random.Random(0).sample(names, min(intents, len(names))))
    rows = load_examples(evaluation) if isinstance(evaluation, Path) else evaluation
    return [e for e in pool if e.label in keep], [e for e in rows if e.label in keep]


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


def run_draw(
    name: str,
    pool: list[LabelledText],
    evaluation: Path,
    oos: dict[str, Path],
    size: tuple[str, float],
    seed: int,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    """Train and score every system on one seeded draw of one training-set size."""
    kind, amount = size
    if kind == "shots":
        train, _ = carve(pool, int(amount), None, seed)
    elif amount >= 1.0:
        train = list(pool)
    else:
        train, _ = carve(pool, None, amount, seed)
    path = _write_csv(train, workdir / f"train_{kind}{amount}_{seed}.csv")
    logger.info("%s %s=%s seed %d: %d training examples", name, kind, amount, seed, len(train))
    result = evaluate_intents(
        IntentEvalConfig(
            train=path,
            test=evaluation,
            oos=oos,
            systems=tuple(args.systems.split(",")),
            transformer_options={"progress": False, **dict(args.option)},
            diet_epochs=args.diet_epochs,
            seed=seed,
            out_json=workdir / "last.json",
            out_markdown=workdir / "last.md",
            dataset_name=name,
        )
    )
    return {"seed": seed, "train_examples": len(train), "systems": result["systems"]}


def summarise(run: dict[str, Any], systems: Sequence[str]) -> None:
    """Fill in ``run["summary"]``: mean and standard deviation over its draws."""
    draws = run["draws"]
    run["summary"] = {
        system: {
            key: _stats([d["systems"][system][key] for d in draws])
            for key in REPORTED
            if all(key in d["systems"][system] for d in draws)
        }
        for system in systems
    }


def markdown(results: dict[str, Any]) -> str:
    """Render the summary: one row per size and metric, a column per system."""
    systems = results["systems"]
    lines = [
        f"**{results['dataset']}**, {results['split']} split; DIET epochs "
        f"{results['diet_epochs']}; options {results['options'] or 'defaults'}; "
        f"intents: {results.get('intents_kept', 'all')}.",
        f"Machine: {results['machine']}.",
        "",
        "| size | draws | metric | " + " | ".join(systems) + " | difference |",
        "|---|---|---|" + "---|" * (len(systems) + 1),
    ]
    for run in results["runs"]:
        if not run["draws"]:
            continue
        metrics = run["summary"][systems[0]]
        for key in metrics:
            cells = []
            means = []
            for system in systems:
                stat = run["summary"][system].get(key)
                if stat is None:
                    cells.append("–")
                    continue
                means.append(stat["mean"])
                pct = key != "train_seconds" and not key.startswith("latency")
                scale = 100 if pct else 1
                cells.append(f"{scale * stat['mean']:.2f} ± {scale * stat['std']:.2f}")
            diff = "–"
            if len(means) == 2:
                pct = key != "train_seconds" and not key.startswith("latency")
                diff = (
                    f"{100 * (means[0] - means[1]):+.2f} pt"
                    if pct
                    else (f"{means[0] / means[1]:.2f}×" if means[1] else "–")
                )
            lines.append(
                f"| {run['size']} | {len(run['draws'])} | {key} | "
                + " | ".join(cells)
                + f" | {diff} |"
            )
    return "\n".join(lines) + "\n"


def _option(value: str) -> tuple[str, Any]:
    key, _, raw = value.partition("=")
    for number in (int, float):
        try:
            return key, number(raw)
        except ValueError:
            pass
    return key, {"true": True, "false": False}.get(raw.lower(), raw)


def main() -> int:
    """Run every requested size of one data set and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", choices=["banking77", "bitext", "banking77_oos"], default="banking77"
    )
    parser.add_argument("--shots", default="", help="examples per intent, comma-separated")
    parser.add_argument("--fractions", default="", help="shares of the training data")
    parser.add_argument("--draws", type=int, default=5, help=f"seeds, from {SEEDS}")
    parser.add_argument("--split", choices=["dev", "test"], default="test")
    parser.add_argument("--systems", default="transformer,diet")
    parser.add_argument("--diet-epochs", type=int, default=100)
    parser.add_argument("--option", type=_option, action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument(
        "--intents", type=int, default=0, help="keep this many intents (quick runs; not OOS)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not (args.data / "banking77").is_dir():
        sys.stderr.write(f"data sets not found at {args.data} (use --data)\n")
        return 2
    sizes = [("shots", float(s)) for s in args.shots.split(",") if s] + [
        ("fraction", float(f)) for f in args.fractions.split(",") if f
    ]
    if not sizes or not 1 <= args.draws <= len(SEEDS):
        parser.error(f"give --shots or --fractions, and 1 to {len(SEEDS)} draws")
    pool, evaluation, oos = dataset(args.dataset, args.data, args.split)
    if args.intents:
        if oos:
            parser.error("--intents does not apply to banking77_oos")
        pool, evaluation = restrict(pool, evaluation, args.intents)
    results: dict[str, Any] = {
        "dataset": args.dataset,
        "split": args.split,
        "machine": machine_description(),
        "systems": args.systems.split(","),
        "diet_epochs": args.diet_epochs,
        "options": dict(args.option),
        "intents_kept": args.intents or "all",
        "runs": [],
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stem = f"few_shot_{args.dataset}_{args.split}{('_' + args.tag) if args.tag else ''}"
    runs: dict[str, dict[str, Any]] = {
        f"{kind}={amount}": {"size": f"{kind}={amount}", "draws": []} for kind, amount in sizes
    }
    results["runs"] = list(runs.values())
    systems = args.systems.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if isinstance(evaluation, list):
            evaluation = _write_csv(evaluation, workdir / "evaluation.csv")
        # Draws outermost, so that a run cut short still has every size at equal draws.
        for seed in SEEDS[: args.draws]:
            for kind, amount in sizes:
                if kind == "fraction" and amount >= 1.0 and runs[f"{kind}={amount}"]["draws"]:
                    continue  # the whole training set: every draw would be the same
                run = runs[f"{kind}={amount}"]
                run["draws"].append(
                    run_draw(
                        args.dataset, pool, evaluation, oos, (kind, amount), seed, args, workdir
                    )
                )
                summarise(run, systems)
                (out / f"{stem}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
                (out / f"{stem}.md").write_text(markdown(results), encoding="utf-8")
    sys.stdout.write(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
