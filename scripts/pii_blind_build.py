"""Build the blind PII evaluation set from its hand-written source.

There are three frozen sets, written the same way by writers who never saw the
detectors: ``v1``, the newer ``v2`` and the newest ``v3``. A source
(``tests/common/privacy/data/pii_blind_<set>.src.txt``) holds one record per block. A
block starts with a header line ``## <style>`` (style is one of chat, sms, email,
slack, ticket); the lines after it, up to the next header, are the text (blank
lines at either end are dropped, inner line breaks kept). Lines before the first header
are a preamble and are ignored. Each PII span is written inline as ``[[TYPE:value]]``;
the converter strips the markers and records the offsets of ``value`` in the plain text.

Checks, each a hard failure: every span's text equals its value and has no surrounding
whitespace; spans do not overlap; no stray ``[[`` or ``]]`` is left; types and styles
are from the fixed lists; texts are unique; every CARD passes the Luhn check; every IBAN
has a valid ISO 13616 checksum; ORDER and ACCOUNT spans have the expected shape; every
EMAIL uses an ``example`` domain. Prints (logs) the counts by type and by style.

Usage::

    python scripts/pii_blind_build.py                     # writes pii_blind_v1.jsonl
    python scripts/pii_blind_build.py --check             # fail if the jsonl is stale
    python scripts/pii_blind_build.py --set v2 [--check]  # the same for pii_blind_v2
    python scripts/pii_blind_build.py --set v3 [--check]  # the same for pii_blind_v3

The sets are frozen: see ``tests/common/privacy/data/BLIND.md``.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

LOG = logging.getLogger("pii_blind_build")

DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "common" / "privacy" / "data"
SOURCE = DATA_DIR / "pii_blind_v1.src.txt"
OUTPUT = DATA_DIR / "pii_blind_v1.jsonl"


@dataclass(frozen=True)
class BlindSet:
    """Where one frozen set's source and built jsonl live."""

    source: Path
    output: Path


SETS = {
    "v1": BlindSet(SOURCE, OUTPUT),
    "v2": BlindSet(DATA_DIR / "pii_blind_v2.src.txt", DATA_DIR / "pii_blind_v2.jsonl"),
    "v3": BlindSet(DATA_DIR / "pii_blind_v3.src.txt", DATA_DIR / "pii_blind_v3.jsonl"),
}

TYPES = ("EMAIL", "PHONE", "PERSON", "ADDRESS", "CARD", "IBAN", "ORDER", "ACCOUNT")
STYLES = ("chat", "sms", "email", "slack", "ticket")

HEADER = re.compile(r"^## (\w+)\s*$")
MARKER = re.compile(r"\[\[(" + "|".join(TYPES) + r"):(.+?)\]\]", re.DOTALL)
ORDER_SHAPE = re.compile(r"^pc[ -]?\d{6}$", re.IGNORECASE)
ACCOUNT_SHAPE = re.compile(r"^acc[- ]?\d{8}$", re.IGNORECASE)
EMAIL_EXAMPLE = re.compile(r"example", re.IGNORECASE)


class BuildError(ValueError):
    """A record of the source that breaks one of the checks."""


@dataclass
class Record:
    """One text of the set: plain text, spans and style."""

    text: str
    style: str
    spans: list[dict[str, int | str]] = field(default_factory=list)

    def as_json(self) -> str:
        """One JSON line in the annotated-set format."""
        return json.dumps(
            {"text": self.text, "spans": self.spans, "style": self.style},
            ensure_ascii=False,
        )


def luhn_ok(number: str) -> bool:
    """Whether the digits of ``number`` pass the Luhn check."""
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return len(digits) >= 12 and total % 10 == 0


def iban_ok(iban: str) -> bool:
    """Whether ``iban`` (spaces allowed) has a valid ISO 13616 mod-97 checksum."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def parse_blocks(source: str) -> list[tuple[str, str, int]]:
    """Split the source into (style, marked text, line number) blocks."""
    blocks: list[tuple[str, str, int]] = []
    style: str | None = None
    start = 0
    lines: list[str] = []

    def flush() -> None:
        if style is not None:
            blocks.append((style, "\n".join(lines).strip("\n"), start))

    for number, line in enumerate(source.splitlines(), start=1):
        match = HEADER.match(line)
        if match:
            flush()
            style, start, lines = match.group(1), number, []
        elif style is not None:
            lines.append(line)
    flush()
    return blocks


def convert(marked: str, style: str, line: int) -> Record:
    """Strip the markers of one block and record the spans; check the block."""
    if style not in STYLES:
        raise BuildError(f"line {line}: unknown style {style!r}")
    parts: list[str] = []
    spans: list[dict[str, int | str]] = []
    cursor = 0
    length = 0
    for match in MARKER.finditer(marked):
        before = marked[cursor : match.start()]
        parts.append(before)
        length += len(before)
        kind, value = match.group(1), match.group(2)
        if value != value.strip():
            raise BuildError(f"line {line}: {kind} span has surrounding whitespace")
        spans.append({"start": length, "end": length + len(value), "type": kind})
        parts.append(value)
        length += len(value)
        cursor = match.end()
    parts.append(marked[cursor:])
    text = "".join(parts)
    if "[[" in text or "]]" in text:
        raise BuildError(f"line {line}: stray or malformed marker")
    if not text.strip():
        raise BuildError(f"line {line}: empty text")
    record = Record(text=text, style=style, spans=spans)
    check_spans(record, line)
    return record


def check_spans(record: Record, line: int) -> None:
    """Hard checks on the spans of one record."""
    previous_end = -1
    for span in record.spans:
        start, end, kind = int(span["start"]), int(span["end"]), str(span["type"])
        value = record.text[start:end]
        if start < previous_end:
            raise BuildError(f"line {line}: overlapping spans")
        previous_end = end
        if kind == "CARD" and not luhn_ok(value):
            raise BuildError(f"line {line}: card fails the Luhn check")
        if kind == "IBAN" and not iban_ok(value):
            raise BuildError(f"line {line}: IBAN checksum invalid")
        if kind == "ORDER" and not ORDER_SHAPE.match(value):
            raise BuildError(f"line {line}: order number of unexpected shape")
        if kind == "ACCOUNT" and not ACCOUNT_SHAPE.match(value):
            raise BuildError(f"line {line}: account id of unexpected shape")
        if kind == "EMAIL" and not EMAIL_EXAMPLE.search(value):
            raise BuildError(f"line {line}: email outside an example domain")
        if kind == "PHONE" and not 7 <= sum(c.isdigit() for c in value) <= 20:
            raise BuildError(f"line {line}: phone with an odd digit count")


def build(source: str) -> list[Record]:
    """Convert every block of the source; fail on duplicates."""
    records = [convert(marked, style, line) for style, marked, line in parse_blocks(source)]
    seen: set[str] = set()
    for record in records:
        if record.text in seen:
            raise BuildError(f"duplicate text: {record.text[:40]!r}")
        seen.add(record.text)
    return records


def summarise(records: list[Record]) -> dict[str, object]:
    """Counts by type (spans and texts), by style, and the name / no-PII shares."""
    spans_by_type = collections.Counter(str(s["type"]) for r in records for s in r.spans)
    texts_by_type = collections.Counter(
        kind for r in records for kind in {str(s["type"]) for s in r.spans}
    )
    by_style = collections.Counter(r.style for r in records)
    total = len(records)
    with_person = sum(1 for r in records if any(s["type"] == "PERSON" for s in r.spans))
    no_pii = sum(1 for r in records if not r.spans)
    return {
        "texts": total,
        "spans": sum(spans_by_type.values()),
        "spans_by_type": {t: spans_by_type.get(t, 0) for t in TYPES},
        "texts_by_type": {t: texts_by_type.get(t, 0) for t in TYPES},
        "texts_by_style": {s: by_style.get(s, 0) for s in STYLES},
        "texts_with_person": with_person,
        "share_with_person": round(with_person / total, 3),
        "texts_without_pii": no_pii,
        "share_without_pii": round(no_pii / total, 3),
    }


def main() -> int:
    """Build (or check) the jsonl; log the counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=sorted(SETS), default="v1", help="which set")
    parser.add_argument("--source", type=Path, help="override the set's source")
    parser.add_argument("--output", type=Path, help="override the set's jsonl")
    parser.add_argument("--check", action="store_true", help="do not write; fail if stale")
    args = parser.parse_args()
    source: Path = args.source or SETS[args.set].source
    output: Path = args.output or SETS[args.set].output
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        records = build(source.read_text(encoding="utf-8"))
    except BuildError as error:
        LOG.error("build failed: %s", error)
        return 1
    content = "".join(record.as_json() + "\n" for record in records)
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != content:
            LOG.error("%s is not up to date with %s", output, source)
            return 1
    else:
        output.write_text(content, encoding="utf-8")
        LOG.info("wrote %d records to %s", len(records), output)
    LOG.info("%s", json.dumps(summarise(records), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
