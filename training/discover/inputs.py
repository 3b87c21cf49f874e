"""Read the customer messages to cluster.

Accepted inputs:

- ``unlabelled_openers.jsonl`` as written by ``prepare``: one JSON object per line with at
  least ``"text"``;
- plain text, one message per line (``.txt``);
- CSV with a text column (``text``, ``utterance``, ``query``, ``instruction`` or
  ``message``, or the one named);
- any transcript format :func:`training.ingest.read_conversations` reads (a file or a
  folder): the first customer turn of each conversation is taken.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path

from common.errors import ConfigError, TrainingDataError
from training.ingest import IngestReport, read_conversations

logger = logging.getLogger(__name__)

INPUT_FORMATS = ("auto", "openers", "lines", "csv", "transcripts")
TEXT_COLUMNS = ("text", "utterance", "query", "instruction", "message")


def _first_record(path: Path) -> object:
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                try:
                    return json.loads(line)
                except ValueError:
                    return None
    return None


def _csv_text_column(path: Path, wanted: str | None) -> str | None:
    with path.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f), [])
    lowered = {h.strip().lower(): h for h in header}
    for name in (wanted,) if wanted else TEXT_COLUMNS:
        if name and name.lower() in lowered:
            return lowered[name.lower()]
    return None


def detect_input_format(path: Path, text_column: str | None = None) -> str:
    """Guess how to read ``path``: ``openers``, ``lines``, ``csv`` or ``transcripts``."""
    if path.is_dir():
        return "transcripts"
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return "lines"
    if suffix == ".csv":
        return "csv" if _csv_text_column(path, text_column) else "transcripts"
    if suffix in (".jsonl", ".json", ".ndjson"):
        record = _first_record(path)
        if isinstance(record, dict) and isinstance(record.get("text"), str):
            return "openers"
    return "transcripts"


def _read_openers(path: Path, field: str) -> Iterator[str]:
    bad = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            text = record.get(field) if isinstance(record, dict) else None
            if not isinstance(text, str):
                bad += 1
                logger.debug("%s: line %d has no %r string", path.name, number, field)
                continue
            yield text
    if bad:
        logger.warning("%s: skipped %d line(s) without a %r string", path.name, bad, field)


def _read_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as f:
        yield from (line.rstrip("\n") for line in f)


def _read_csv(path: Path, column: str | None) -> Iterator[str]:
    name = _csv_text_column(path, column)
    if name is None:
        raise TrainingDataError(
            f"{path}: no text column; expected one of {list(TEXT_COLUMNS)} or --text-column"
        )
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield row.get(name) or ""


def _read_transcripts(path: Path) -> Iterator[str]:
    report = IngestReport()
    for conversation in read_conversations(path, report=report):
        opener = next((t.text for t in conversation.turns if t.role == "customer"), None)
        if opener is not None:
            yield opener
    logger.info("read transcripts: %s", report.summary())


def read_texts(
    path: Path, *, input_format: str = "auto", text_column: str | None = None
) -> list[str]:
    """Read the messages to cluster (not yet redacted).

    Args:
        path: A file or folder.
        input_format: ``auto`` or one of ``openers``, ``lines``, ``csv``, ``transcripts``.
        text_column: The JSON field (``openers``) or CSV column holding the text.

    Returns:
        The non-blank texts, stripped, in file order.

    Raises:
        ConfigError: On an unknown format.
        TrainingDataError: If the path is missing or has no usable text.
    """
    if input_format not in INPUT_FORMATS:
        raise ConfigError(f"unknown input format {input_format!r}; expected {list(INPUT_FORMATS)}")
    if not path.exists():
        raise TrainingDataError(f"{path}: no such file or folder")
    fmt = detect_input_format(path, text_column) if input_format == "auto" else input_format
    if fmt == "openers":
        raw: Iterator[str] = _read_openers(path, text_column or "text")
    elif fmt == "lines":
        raw = _read_lines(path)
    elif fmt == "csv":
        raw = _read_csv(path, text_column)
    else:
        raw = _read_transcripts(path)
    texts = [t.strip() for t in raw if t and t.strip()]
    if not texts:
        raise TrainingDataError(f"{path}: no customer messages found (read as {fmt})")
    logger.info("read %d messages from %s as %s", len(texts), path.name, fmt)
    return texts
