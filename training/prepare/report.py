"""The run's summary: counts only, never a customer text, as JSON and Markdown."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from training.ingest import IngestReport


@dataclass
class IntentCounts:
    """What happened to one intent's examples.

    Attributes:
        found: Labelled customer messages seen.
        exact_duplicates: Dropped as exact duplicates (normalised text).
        near_duplicates: Dropped as near duplicates (MiniLM cosine).
        conflicts: Dropped because the same text was already labelled with another intent.
        capped: Dropped by the per-intent cap.
        train: Written to the train split.
        test: Written to the test split.
        too_few_to_split: True if the intent was too small to hold any out.

    """

    found: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    conflicts: int = 0
    capped: int = 0
    train: int = 0
    test: int = 0
    too_few_to_split: bool = False


@dataclass
class PrepareReport:
    """Counts of one ``prepare`` run.

    Attributes:
        options: The options that shaped the output.
        ingest: The ingest report (read, accepted, rejected by reason, skipped).
        intents: Per-intent counts, by intent name.
        renamed_intents: Source labels that were changed into valid intent names.
        pii: PII spans redacted, by type.
        unlabelled: Counts for unlabelled customer openers.
        pairs: Counts for generation pairs.
        long_tail: Intents with few examples kept (name to train + test count).
        empty_after_cleaning: Customer messages with no text left after cleaning.

    """

    options: dict[str, object] = field(default_factory=dict)
    ingest: IngestReport = field(default_factory=IngestReport)
    intents: dict[str, IntentCounts] = field(default_factory=dict)
    renamed_intents: dict[str, str] = field(default_factory=dict)
    pii: Counter[str] = field(default_factory=Counter)
    unlabelled: Counter[str] = field(default_factory=Counter)
    pairs: Counter[str] = field(default_factory=Counter)
    long_tail: dict[str, int] = field(default_factory=dict)
    empty_after_cleaning: int = 0

    def intent(self, name: str) -> IntentCounts:
        """Return (creating) the counts of an intent."""
        return self.intents.setdefault(name, IntentCounts())

    def to_dict(self) -> dict[str, object]:
        """Return the report as plain, deterministic data (sorted keys, no timings)."""
        intents = {name: vars(self.intents[name]) for name in sorted(self.intents)}
        totals = Counter[str]()
        for counts in self.intents.values():
            totals.update({k: v for k, v in vars(counts).items() if not isinstance(v, bool)})
        return {
            "options": self.options,
            "ingest": {
                **self.ingest.summary(),
                "rejections": [
                    {
                        "source": r.source,
                        "location": r.location,
                        "reason": r.reason,
                        "detail": r.detail,
                    }
                    for r in self.ingest.rejections
                ],
            },
            "nlu": {
                "intents": len([c for c in self.intents.values() if c.train + c.test]),
                "totals": dict(sorted(totals.items())),
                "duplicates_removed": {
                    "exact": totals["exact_duplicates"] + self.unlabelled["exact_duplicates"],
                    "near": totals["near_duplicates"] + self.unlabelled["near_duplicates"],
                    "pairs_exact": self.pairs["exact_duplicates"],
                },
                "per_intent": intents,
                "renamed_intents": dict(sorted(self.renamed_intents.items())),
                "long_tail": self.long_tail,
                "too_few_to_split": sorted(
                    n for n, c in self.intents.items() if c.too_few_to_split
                ),
                "empty_after_cleaning": self.empty_after_cleaning,
            },
            "unlabelled_openers": dict(sorted(self.unlabelled.items())),
            "pairs": dict(sorted(self.pairs.items())),
            "pii_redacted": dict(sorted(self.pii.items())),
        }

    def to_json(self) -> str:
        """The report as indented JSON with a trailing newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_markdown(self) -> str:
        """The report as a Markdown document."""
        data = self.to_dict()
        ingest = self.ingest
        lines = [
            "# Prepare report",
            "",
            f"- conversations read: {ingest.read}, accepted: {ingest.accepted}, "
            f"turns: {ingest.turns}, rejected: {ingest.total_rejected}",
            f"- intents written: {data['nlu']['intents']}"  # type: ignore[index]
            f", unlabelled openers kept: {self.unlabelled['kept']}",
            f"- generation pairs: train {self.pairs['train']}, test {self.pairs['test']}",
            "",
            "## Rejected records by reason",
            "",
            "| reason | count |",
            "|---|---:|",
            *[f"| {reason} | {n} |" for reason, n in sorted(ingest.rejected.items())],
            "",
            "## PII redacted by type",
            "",
            "| type | count |",
            "|---|---:|",
            *[f"| {kind} | {n} |" for kind, n in sorted(self.pii.items())],
            "",
            "## Intents",
            "",
            "| intent | found | exact dup | near dup | conflicts | capped | train | test |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name in sorted(self.intents):
            c = self.intents[name]
            mark = " (too few to split)" if c.too_few_to_split else ""
            lines.append(
                f"| {name}{mark} | {c.found} | {c.exact_duplicates} | {c.near_duplicates} | "
                f"{c.conflicts} | {c.capped} | {c.train} | {c.test} |"
            )
        lines += [
            "",
            "## Duplicates removed",
            "",
            *[f"- {k}: {v}" for k, v in data["nlu"]["duplicates_removed"].items()],  # type: ignore[index]
            "",
            "## Long tail",
            "",
        ]
        lines += [f"- {name}: {n}" for name, n in self.long_tail.items()] or ["(none)"]
        return "\n".join(lines) + "\n"
