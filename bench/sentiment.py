"""Accuracy, precision and recall of the "escalate for sentiment" decision.

Compares the escalation decision of :class:`bot.escalation.sentiment.SentimentAnalyzer`
(VADER compound plus anger, shouting and sarcasm cues, thresholds from ``escalation.yml``)
with plain VADER (escalate when compound <= -0.05, VADER's own "negative" cut-off) on the
hand-labelled set ``tests/data/sentiment_set.jsonl``. The positive class is "escalate":
the customer is angry or strongly upset. Polite complaints are labelled "do not escalate"
(the bot's complaint flow handles them); sarcasm and shouting are labelled "escalate".

Each message has a ``split``: ``tune`` messages were used to choose the cue lists and
thresholds in ``escalation.yml``, so their scores are optimistic; ``holdout`` messages were
written afterwards and never used for tuning. Scores are reported for both and overall.

Usage:
    python bench/sentiment.py [--data tests/data/sentiment_set.jsonl] [--config escalation.yml]
                              [--errors]

Prints Markdown (overall and per kind) and writes ``bench/results/sentiment.json``.
``--errors`` also prints the misclassified messages (the set is written for this repo).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.escalation.config import load_escalation_config  # noqa: E402
from bot.escalation.sentiment import SentimentAnalyzer  # noqa: E402

DEFAULT_DATA = ROOT / "tests" / "data" / "sentiment_set.jsonl"
RESULTS = ROOT / "bench" / "results" / "sentiment.json"
VADER_NEGATIVE = -0.05


@dataclass(frozen=True)
class Scores:
    """Binary classification scores, "escalate" being the positive class."""

    n: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    tn: int


def score(gold: Sequence[bool], predicted: Sequence[bool]) -> Scores:
    """Accuracy, precision, recall and F1 of predictions against gold labels."""
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    fp = sum(p and not g for g, p in zip(gold, predicted, strict=True))
    fn = sum(g and not p for g, p in zip(gold, predicted, strict=True))
    tn = len(gold) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = (tp + tn) / len(gold) if gold else 0.0
    return Scores(len(gold), accuracy, precision, recall, f1, tp, fp, fn, tn)


def load(path: Path) -> list[dict[str, object]]:
    """Read the labelled set (one JSON object a line: text, escalate, kind)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--config", type=Path, default=ROOT / "escalation.yml")
    parser.add_argument("--errors", action="store_true")
    args = parser.parse_args(argv)

    rows = load(args.data)
    analyzer = SentimentAnalyzer(load_escalation_config(args.config).negative_sentiment)
    texts = [str(r["text"]) for r in rows]
    gold = [bool(r["escalate"]) for r in rows]
    kinds = [str(r["kind"]) for r in rows]

    started = time.perf_counter()
    ours = [analyzer.score(t).escalate for t in texts]
    ms_per_message = (time.perf_counter() - started) * 1000 / max(len(texts), 1)
    baseline = [analyzer.compound(t) <= VADER_NEGATIVE for t in texts]

    systems: dict[str, list[bool]] = {"escalation decision": ours, "plain VADER": baseline}
    splits = [str(r.get("split", "tune")) for r in rows]
    overall = {name: score(gold, pred) for name, pred in systems.items()}
    by_split = {
        split: {
            name: score(_only(gold, splits, split), _only(pred, splits, split))
            for name, pred in systems.items()
        }
        for split in sorted(set(splits))
    }
    per_kind = {
        kind: {
            name: _accuracy(_only(gold, kinds, kind), _only(pred, kinds, kind))
            for name, pred in systems.items()
        }
        for kind in sorted(set(kinds))
    }
    counts = {kind: kinds.count(kind) for kind in per_kind}

    print(f"# Escalate-for-sentiment on {args.data.name} ({len(rows)} messages)\n")
    print("| split | system | n | accuracy | precision | recall | F1 | TP | FP | FN | TN |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for split, scores in [*by_split.items(), ("all", overall)]:
        for name, s in scores.items():
            print(
                f"| {split} | {name} | {s.n} | {s.accuracy:.3f} | {s.precision:.3f} "
                f"| {s.recall:.3f} | {s.f1:.3f} | {s.tp} | {s.fp} | {s.fn} | {s.tn} |"
            )
    print("\n## Accuracy per kind of message\n")
    print("| kind | n | escalation decision | plain VADER |")
    print("|---|---|---|---|")
    for kind, by_system in per_kind.items():
        print(
            f"| {kind} | {counts[kind]} | {by_system['escalation decision']:.3f} "
            f"| {by_system['plain VADER']:.3f} |"
        )
    print(f"\nScoring time: {ms_per_message:.3f} ms per message.")
    if args.errors:
        _print_errors(texts, gold, ours, kinds, analyzer.compound)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "data": str(args.data.relative_to(ROOT) if args.data.is_absolute() else args.data),
                "messages": len(rows),
                "positives": sum(gold),
                "vader_negative_threshold": VADER_NEGATIVE,
                "overall": {name: asdict(s) for name, s in overall.items()},
                "by_split": {
                    split: {name: asdict(s) for name, s in scores.items()}
                    for split, scores in by_split.items()
                },
                "accuracy_per_kind": per_kind,
                "kind_counts": counts,
                "ms_per_message": ms_per_message,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0


def _only(values: Sequence[bool], keys: Sequence[str], key: str) -> list[bool]:
    return [v for v, k in zip(values, keys, strict=True) if k == key]


def _accuracy(gold: Sequence[bool], pred: Sequence[bool]) -> float:
    return score(gold, pred).accuracy


def _print_errors(
    texts: Sequence[str],
    gold: Sequence[bool],
    pred: Sequence[bool],
    kinds: Sequence[str],
    compound: Callable[[str], float],
) -> None:
    print("\n## Errors of the escalation decision\n")
    for text, g, p, kind in zip(texts, gold, pred, kinds, strict=True):
        if g != p:
            label = "missed" if g else "false alarm"
            print(f"- {label} ({kind}, compound {compound(text):.2f}): {text}")


if __name__ == "__main__":
    sys.exit(main())
