"""Precision, recall and F1 of PII redaction per type on the annotated set.

Matching rule (span level): a predicted span matches a gold span of the same type when
their intersection over union (in characters) is at least 0.5; each gold span matches at
most one prediction (greedy, best IoU first). Micro-averaged totals are over all types.
The ``exact`` column counts matches whose boundaries are identical.

Usage:
    python bench/pii.py [--data tests/common/privacy/data/pii_set.jsonl] [--leniency VALID]
                        [--errors]

Prints a Markdown table and writes ``bench/results/pii.json``. ``--errors`` also prints
the misses and false alarms (the set is synthetic, so printing it is fine).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "tests" / "common" / "privacy" / "data" / "pii_set.jsonl"
RESULTS = ROOT / "bench" / "results" / "pii.json"
IOU_THRESHOLD = 0.5


@dataclass(frozen=True)
class Span:
    """A typed character span."""

    type: str
    start: int
    end: int


@dataclass
class Tally:
    """Counts for one type."""

    gold: int = 0
    predicted: int = 0
    matched: int = 0
    exact: int = 0

    def scores(self) -> dict[str, float | int]:
        """Return counts with precision, recall and F1."""
        p = self.matched / self.predicted if self.predicted else 1.0
        r = self.matched / self.gold if self.gold else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {
            "gold": self.gold,
            "predicted": self.predicted,
            "matched": self.matched,
            "exact_boundaries": self.exact,
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f1, 4),
        }


def iou(a: Span, b: Span) -> float:
    """Intersection over union of two spans, in characters."""
    inter = max(0, min(a.end, b.end) - max(a.start, b.start))
    union = max(a.end, b.end) - min(a.start, b.start)
    return inter / union if union else 0.0


def match(gold: Sequence[Span], predicted: Sequence[Span]) -> list[tuple[Span, Span]]:
    """Pair gold and predicted spans of the same type with IoU >= 0.5, one to one."""
    pairs = sorted(
        (
            (iou(g, p), gi, pi)
            for gi, g in enumerate(gold)
            for pi, p in enumerate(predicted)
            if g.type == p.type
        ),
        reverse=True,
    )
    used_g: set[int] = set()
    used_p: set[int] = set()
    result = []
    for score, gi, pi in pairs:
        if score < IOU_THRESHOLD or gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        result.append((gold[gi], predicted[pi]))
    return result


def load(path: Path) -> list[tuple[str, list[Span]]]:
    """Read the annotated set: one JSON object per line with ``text`` and ``spans``."""
    records = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                records.append(
                    (r["text"], [Span(s["type"], s["start"], s["end"]) for s in r["spans"]])
                )
    return records


def evaluate(
    records: Sequence[tuple[str, list[Span]]], predictions: Sequence[Sequence[Span]]
) -> tuple[dict[str, Tally], list[str]]:
    """Score predictions against the gold spans; also return readable error lines."""
    tallies: dict[str, Tally] = {}
    errors: list[str] = []
    for (text, gold), predicted in zip(records, predictions, strict=True):
        pairs = match(gold, predicted)
        for s in gold:
            tallies.setdefault(s.type, Tally()).gold += 1
        for s in predicted:
            tallies.setdefault(s.type, Tally()).predicted += 1
        for g, p in pairs:
            tallies[g.type].matched += 1
            tallies[g.type].exact += (g.start, g.end) == (p.start, p.end)
        hit_g = {id(g) for g, _ in pairs}
        hit_p = {id(p) for _, p in pairs}
        for g in gold:
            if id(g) not in hit_g:
                errors.append(f"MISS {g.type:<10} {text[g.start : g.end]!r}  in  {text!r}")
        for p in predicted:
            if id(p) not in hit_p:
                errors.append(f"FP   {p.type:<10} {text[p.start : p.end]!r}  in  {text!r}")
    return tallies, errors


def table(tallies: dict[str, Tally]) -> tuple[str, dict[str, dict[str, float | int]]]:
    """Return the Markdown table and the scores per type plus the micro average."""
    scores = {t: tallies[t].scores() for t in sorted(tallies)}
    total = Tally(
        gold=sum(t.gold for t in tallies.values()),
        predicted=sum(t.predicted for t in tallies.values()),
        matched=sum(t.matched for t in tallies.values()),
        exact=sum(t.exact for t in tallies.values()),
    )
    scores["ALL (micro)"] = total.scores()
    lines = [
        "| type | gold | predicted | matched | exact | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in scores.items():
        lines.append(
            f"| {name} | {s['gold']} | {s['predicted']} | {s['matched']} | "
            f"{s['exact_boundaries']} | "
            f"{s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} |"
        )
    return "\n".join(lines), scores


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--leniency", default="VALID", help="libphonenumber leniency")
    parser.add_argument("--errors", action="store_true", help="print misses and false alarms")
    parser.add_argument(
        "--no-name-fallback", action="store_true", help="turn off the proper-noun fallback"
    )
    args = parser.parse_args(argv)

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from common.privacy import RedactionConfig, Redactor

    records = load(args.data)
    config = RedactionConfig(
        phone_leniency=args.leniency.upper(),
        name_proper_noun_fallback=not args.no_name_fallback,
    )
    redactor = Redactor(config)
    t0 = time.perf_counter()
    redactor.redact("warm-up: load the NER model")
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = redactor.redact_many([text for text, _ in records])
    run_s = time.perf_counter() - t0
    predictions = [[Span(s.type, s.start, s.end) for s in r.spans] for r in results]
    tallies, errors = evaluate(records, predictions)
    markdown, scores = table(tallies)

    sys.stdout.write(
        f"PII redaction on {len(records)} texts ({args.data.name}), phone leniency "
        f"{config.phone_leniency}, name fallback {config.name_proper_noun_fallback}, "
        f"match = same type and IoU >= {IOU_THRESHOLD}\n\n"
    )
    sys.stdout.write(markdown + "\n\n")
    sys.stdout.write(
        f"model load {load_s:.2f} s; redact_many {run_s:.2f} s "
        f"({1000 * run_s / len(records):.2f} ms/text)\n"
    )
    if args.errors:
        sys.stdout.write("\n".join(errors) + "\n")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "data": str(args.data.relative_to(ROOT))
                if args.data.is_relative_to(ROOT)
                else str(args.data),
                "texts": len(records),
                "phone_leniency": config.phone_leniency,
                "name_proper_noun_fallback": config.name_proper_noun_fallback,
                "match_rule": f"same type, IoU >= {IOU_THRESHOLD}, one to one",
                "scores": scores,
                "seconds": {"model_load": round(load_s, 3), "redact_many": round(run_s, 3)},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
