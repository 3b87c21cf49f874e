"""Precision, recall and F1 of PII redaction per type on annotated sets, side by side.

Matching rule (span level): a predicted span matches a gold span of the same type when
their intersection over union (in characters) is at least 0.5; each gold span matches at
most one prediction (greedy, best IoU first). Micro-averaged totals are over all types.
The ``exact`` column counts matches whose boundaries are identical.

Besides precision and recall it reports the share of gold spans *leaked entirely* (no
predicted span of any type overlaps them: the value reaches the output whole) and the
redaction time per text, batched through ``Redactor.redact_many`` with BLAS held to one
thread (best of ``--repeat`` runs, model load excluded), as wall time and as the process's
CPU time (steadier when other jobs share the cores).

Usage:
    python bench/pii.py [--data A.jsonl [--data B.jsonl ...]] [--leniency VALID] [--errors]
                        [--code DIR] [--names spacy|minilm|both|vote] [--name-model DIR]
                        [--tagger-types PERSON[,ADDRESS]]

Prints one Markdown table with a column per data file and writes ``bench/results/pii.json``.
``--errors`` also prints the misses and false alarms: only for synthetic sets, never for
real customer text. ``--code DIR`` imports ``common.privacy`` from another tree, e.g. a
baseline exported with ``git archive <commit> common | tar -x -C DIR``, to compare speed and
scores in the same conditions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


GOLD_ALIASES = {"ORDER": "ORDER_ID", "ACCOUNT": "ACCOUNT_ID", "NAME": "PERSON"}
"""Gold type names of other annotators mapped to the redactor's (the blind set, written by
someone who never saw the redactor, says ``ORDER`` and ``ACCOUNT``)."""


def load(path: Path) -> list[tuple[str, list[Span]]]:
    """Read the annotated set: one JSON object per line with ``text`` and ``spans``.

    Gold types are mapped through :data:`GOLD_ALIASES`.
    """
    records = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                records.append(
                    (
                        r["text"],
                        [
                            Span(GOLD_ALIASES.get(s["type"], s["type"]), s["start"], s["end"])
                            for s in r["spans"]
                        ],
                    )
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


def leaked(records: Sequence[tuple[str, list[Span]]], predictions: Sequence[Sequence[Span]]) -> int:
    """Count gold spans that no predicted span (of any type) overlaps at all.

    Such a value reaches the output whole; a span matched with the wrong type or with
    rough boundaries is at least partly hidden and does not count here.
    """
    return sum(
        1
        for (_, gold), predicted in zip(records, predictions, strict=True)
        for g in gold
        if not any(p.start < g.end and g.start < p.end for p in predicted)
    )


@dataclass(frozen=True)
class Run:
    """The scores of one data file."""

    name: str
    texts: int
    scores: dict[str, dict[str, float | int]]
    leaked: int
    ms_per_text: float
    cpu_ms_per_text: float
    errors: list[str]

    @property
    def gold(self) -> int:
        """Number of gold spans."""
        return int(self.scores["ALL (micro)"]["gold"])

    def summary(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "texts": self.texts,
            "scores": self.scores,
            "leaked_spans": self.leaked,
            "leaked_share": round(self.leaked / self.gold, 4) if self.gold else 0.0,
            "ms_per_text": round(self.ms_per_text, 3),
            "cpu_ms_per_text": round(self.cpu_ms_per_text, 3),
        }


def side_by_side(runs: Sequence[Run]) -> str:
    """One Markdown table: per type precision / recall (gold count) for each file."""
    types = sorted({t for r in runs for t in r.scores if t != "ALL (micro)"})
    head = "| type | " + " | ".join(f"{r.name} P / R (gold)" for r in runs) + " |"
    lines = [head, "|---|" + "---:|" * len(runs)]

    def cell(run: Run, t: str) -> str:
        s = run.scores.get(t)
        if s is None:
            return "–"
        return f"{s['precision']:.3f} / {s['recall']:.3f} ({s['gold']})"

    for t in [*types, "ALL (micro)"]:
        lines.append(f"| {t} | " + " | ".join(cell(r, t) for r in runs) + " |")
    lines.append(
        "| leaked entirely | "
        + " | ".join(
            f"{r.leaked / r.gold:.1%} ({r.leaked} of {r.gold})" if r.gold else "–" for r in runs
        )
        + " |"
    )
    lines.append(
        "| ms per text (batched, 1 thread) | "
        + " | ".join(f"{r.ms_per_text:.2f}" for r in runs)
        + " |"
    )
    lines.append(
        "| CPU ms per text (process time) | "
        + " | ".join(f"{r.cpu_ms_per_text:.2f}" for r in runs)
        + " |"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        help=f"annotated JSONL (repeatable); default {DEFAULT_DATA.name}",
    )
    parser.add_argument("--leniency", default="VALID", help="libphonenumber leniency")
    parser.add_argument("--errors", action="store_true", help="print misses and false alarms")
    parser.add_argument(
        "--no-name-fallback", action="store_true", help="turn off the proper-noun fallback"
    )
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="import common.privacy from this tree (e.g. an exported baseline commit)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per file (best kept)")
    parser.add_argument(
        "--names",
        default="spacy",
        choices=("spacy", "minilm", "both", "vote"),
        help="name finder: spaCy NER, the MiniLM tagger (python -m training pii-ner), both "
        "(union), or vote (the tagger's names and the spaCy names it does not rule out)",
    )
    parser.add_argument("--name-model", default="", help="the MiniLM tagger's folder")
    parser.add_argument(
        "--tagger-types",
        default="PERSON,ADDRESS",
        help="the tagger's types to use, e.g. PERSON,ADDRESS",
    )
    args = parser.parse_args(argv)
    data_files: list[Path] = args.data or [DEFAULT_DATA]

    sys.path.insert(0, str(args.code.resolve()))
    from threadpoolctl import threadpool_limits

    from common.privacy import RedactionConfig, Redactor

    tagger: dict[str, Any] = {}
    if args.names != "spacy":  # older trees (--code) know only spaCy
        import torch

        torch.set_num_threads(1)
        tagger = {
            "names": args.names,
            "name_model_dir": args.name_model,
            "tagger_types": tuple(args.tagger_types.upper().split(",")),
        }
    config = RedactionConfig(
        phone_leniency=args.leniency.upper(),
        name_proper_noun_fallback=not args.no_name_fallback,
        **tagger,
    )
    redactor = Redactor(config)
    runs: list[Run] = []
    with threadpool_limits(limits=1):  # one core: BLAS on one thread
        t0 = time.perf_counter()
        redactor.redact("warm-up: load the NER model, Anna")
        load_s = time.perf_counter() - t0
        for path in data_files:
            records = load(path)
            texts = [text for text, _ in records]
            best = best_cpu = float("inf")
            for _ in range(max(1, args.repeat)):
                t0, c0 = time.perf_counter(), time.process_time()
                results = redactor.redact_many(texts)
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            predictions = [[Span(s.type, s.start, s.end) for s in r.spans] for r in results]
            tallies, errors = evaluate(records, predictions)
            _, scores = table(tallies)
            runs.append(
                Run(
                    path.name,
                    len(records),
                    scores,
                    leaked(records, predictions),
                    1000 * best / max(1, len(records)),
                    1000 * best_cpu / max(1, len(records)),
                    errors,
                )
            )

    sys.stdout.write(
        f"PII redaction (code from {args.code}), phone leniency {config.phone_leniency}, "
        f"name fallback {config.name_proper_noun_fallback}, names {args.names} "
        f"{args.tagger_types if tagger else ''}, match = same type and "
        f"IoU >= {IOU_THRESHOLD}; model load {load_s:.2f} s\n\n"
    )
    sys.stdout.write(side_by_side(runs) + "\n")
    if args.errors:
        for run in runs:
            sys.stdout.write(f"\n## {run.name}\n" + "\n".join(run.errors) + "\n")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "code": str(args.code),
                "phone_leniency": config.phone_leniency,
                "name_proper_noun_fallback": config.name_proper_noun_fallback,
                "names": args.names,
                "tagger": tagger,
                "match_rule": f"same type, IoU >= {IOU_THRESHOLD}, one to one",
                "model_load_s": round(load_s, 3),
                "runs": {run.name: run.summary() for run in runs},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
