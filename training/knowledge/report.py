"""The ingest report: ``report.json`` for tools and ``report.md`` for people.

It lists the documents read (format, chunks, PII spans redacted and kept per type), the
files rejected with their reason codes, the chunks written, how many chunk texts were
embedded or reused, and the time each step took. It holds counts and paths only, never a
redacted value.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from training.knowledge.document import REASONS

REPORT_JSON = "report.json"
REPORT_MD = "report.md"


@dataclass(frozen=True)
class DocumentEntry:
    """One document read.

    Attributes:
        doc_id: Its path relative to the knowledge folder.
        format: The reader that parsed it.
        chunks: Chunks written from it.
        redacted: PII spans replaced, by type.
        kept: PII-like spans left in place by the allow-list, by type.

    """

    doc_id: str
    format: str
    chunks: int
    redacted: dict[str, int]
    kept: dict[str, int]


@dataclass(frozen=True)
class RejectedEntry:
    """One file skipped.

    Attributes:
        path: Its path relative to the knowledge folder.
        reason: A code from :data:`~training.knowledge.document.REASONS`.
        detail: A short explanation.

    """

    path: str
    reason: str
    detail: str


@dataclass
class KbReport:
    """Everything one ``python -m training kb`` run did.

    Attributes:
        input: The knowledge folder.
        out: The output folder.
        documents: The documents read, in order.
        rejected: The files skipped, in order.
        chunks_written: Chunks in ``chunks.jsonl``.
        embedded: Distinct chunk texts embedded in this run (None: embedding was off).
        reused: Distinct chunk texts whose previous vector was reused (None: off).
        fresh_reason: Why no previous vector was reused, if that happened.
        timings: Seconds per step (``read``, ``redact``, ``chunk``, ``embed``,
            ``write``, ``total``).

    """

    input: str
    out: str
    documents: list[DocumentEntry] = field(default_factory=list)
    rejected: list[RejectedEntry] = field(default_factory=list)
    chunks_written: int = 0
    embedded: int | None = None
    reused: int | None = None
    fresh_reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def redacted_totals(self) -> dict[str, int]:
        """PII spans replaced across all documents, by type."""
        totals: Counter[str] = Counter()
        for doc in self.documents:
            totals.update(doc.redacted)
        return dict(sorted(totals.items()))

    def kept_totals(self) -> dict[str, int]:
        """Allow-listed spans left in place across all documents, by type."""
        totals: Counter[str] = Counter()
        for doc in self.documents:
            totals.update(doc.kept)
        return dict(sorted(totals.items()))

    def rejected_by_reason(self) -> dict[str, int]:
        """Files skipped, by reason code."""
        return dict(sorted(Counter(r.reason for r in self.rejected).items()))

    def to_dict(self) -> dict[str, object]:
        """The report as a JSON object."""
        return {
            "input": self.input,
            "out": self.out,
            "documents_read": len(self.documents),
            "chunks_written": self.chunks_written,
            "redacted": self.redacted_totals(),
            "kept": self.kept_totals(),
            "rejected_by_reason": self.rejected_by_reason(),
            "embeddings": {
                "enabled": self.embedded is not None,
                "embedded": self.embedded,
                "reused": self.reused,
                "fresh_reason": self.fresh_reason,
            },
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "documents": [asdict(d) for d in self.documents],
            "rejected": [asdict(r) for r in self.rejected],
        }

    def to_markdown(self) -> str:
        """The report as Markdown."""
        lines = [
            "# Knowledge base ingest",
            "",
            f"- Input: `{self.input}`",
            f"- Documents read: {len(self.documents)}",
            f"- Chunks written: {self.chunks_written}",
            f"- Files rejected: {len(self.rejected)}",
        ]
        if self.embedded is None:
            lines.append("- Embeddings: not computed (`--no-embed`)")
        else:
            lines.append(
                f"- Embeddings: {self.embedded} chunk texts embedded, {self.reused} reused"
            )
            if self.fresh_reason:
                lines.append(f"  (nothing reused: {self.fresh_reason})")
        timings = ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items())
        lines += [f"- Timings: {timings}", "", "## Redactions", ""]
        lines += _counts_table(self.redacted_totals(), "PII type", "Spans redacted")
        kept = self.kept_totals()
        if kept:
            lines += ["", "Kept by the allow-list (`--keep`):", ""]
            lines += _counts_table(kept, "PII type", "Spans kept")
        lines += ["", "## Rejected files", ""]
        if self.rejected:
            lines += ["| File | Reason | Detail |", "|---|---|---|"]
            lines += [
                f"| `{_cell(r.path)}` | {r.reason} | {_cell(r.detail)} |" for r in self.rejected
            ]
            lines += ["", "Reasons: " + "; ".join(f"{k}: {REASONS[k]}" for k in _used(self))]
        else:
            lines.append("None.")
        lines += ["", "## Documents", "", "| Document | Format | Chunks | Redacted | Kept |"]
        lines.append("|---|---|---|---|---|")
        for d in self.documents:
            lines.append(
                f"| `{_cell(d.doc_id)}` | {d.format} | {d.chunks} | "
                f"{_inline(d.redacted)} | {_inline(d.kept)} |"
            )
        return "\n".join(lines) + "\n"


def write_report(out: Path, report: KbReport) -> None:
    """Write ``report.json`` and ``report.md``, each atomically.

    Args:
        out: The output folder.
        report: The report.

    """
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (
        (REPORT_JSON, json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"),
        (REPORT_MD, report.to_markdown()),
    ):
        tmp = out / f"{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out / name)


def _counts_table(counts: dict[str, int], key: str, value: str) -> list[str]:
    if not counts:
        return ["None."]
    return [f"| {key} | {value} |", "|---|---|", *(f"| {k} | {v} |" for k, v in counts.items())]


def _inline(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _used(report: KbReport) -> list[str]:
    return list(report.rejected_by_reason())
