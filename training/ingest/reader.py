"""Read transcripts from a file or a folder in any supported format."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

from common.errors import ConfigError, TrainingDataError
from training.ingest.csv_pairs import read_csv_pairs
from training.ingest.detect import FORMATS, SNIFF_BYTES, detect_format, is_binary, is_slack_export
from training.ingest.email_mime import read_eml, read_mbox
from training.ingest.jsonl import read_jsonl
from training.ingest.model import (
    BINARY_FILE,
    EMPTY_FILE,
    UNKNOWN_FORMAT,
    UNREADABLE,
    Conversation,
    IngestOptions,
    IngestReport,
)
from training.ingest.slack_export import read_slack
from training.ingest.taskmaster import read_taskmaster

logger = logging.getLogger(__name__)


class FormatReader(Protocol):
    """Reads one file (or a Slack folder) of one format."""

    def __call__(
        self, path: Path, options: IngestOptions, report: IngestReport
    ) -> Iterator[Conversation]:
        """Yield the conversations of ``path``, counting into ``report``."""
        ...


READERS: Mapping[str, FormatReader] = {
    "jsonl": read_jsonl,
    "csv": read_csv_pairs,
    "taskmaster": read_taskmaster,
    "eml": read_eml,
    "mbox": read_mbox,
    "slack": read_slack,
}


def read_conversations(
    path: Path,
    format: str = "auto",
    options: IngestOptions | None = None,
    report: IngestReport | None = None,
) -> Iterator[Conversation]:
    """Stream normalised conversations from a file or a folder.

    A folder is read recursively, each file detected on its own; a Slack export (or channel)
    folder is read as a whole. Bad records are counted in ``report`` with a reason and
    never stop the run.

    Args:
        path: A file or a folder.
        format: ``"auto"`` to detect, or one of ``jsonl``, ``csv``, ``taskmaster``, ``eml``,
            ``mbox``, ``slack`` to force it.
        options: Reading options; defaults apply if None.
        report: Receives counts and rejections; pass one in to read it afterwards.

    Returns:
        A lazy iterator of conversations.

    Raises:
        ConfigError: If ``format`` is not known.
        TrainingDataError: If ``path`` does not exist.
    """
    if format != "auto" and format not in READERS:
        raise ConfigError(f"unknown transcript format {format!r}; expected auto or {FORMATS}")
    if not path.exists():
        raise TrainingDataError(f"{path}: no such file or folder")
    return _read(
        path,
        format,
        options if options is not None else IngestOptions(),
        report if report is not None else IngestReport(),
    )


def _read(
    path: Path, fmt: str, options: IngestOptions, report: IngestReport
) -> Iterator[Conversation]:
    if path.is_dir():
        yield from _read_folder(path, fmt, options, report)
    else:
        yield from _read_file(path, fmt, options, report)
    logger.info("ingest finished: %s", report.summary())


def _read_folder(
    folder: Path, fmt: str, options: IngestOptions, report: IngestReport
) -> Iterator[Conversation]:
    if fmt == "slack" or (fmt == "auto" and is_slack_export(folder)):
        yield from _guarded(folder, "slack", options, report)
        return
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            report.skip("hidden_file")
        elif child.is_dir():
            yield from _read_folder(child, fmt, options, report)
        elif child.is_file():
            yield from _read_file(child, fmt, options, report)


def _read_file(
    path: Path, fmt: str, options: IngestOptions, report: IngestReport
) -> Iterator[Conversation]:
    source = str(path)
    try:
        with path.open("rb") as stream:
            head = stream.read(SNIFF_BYTES)
    except OSError as e:
        report.reject(source, "file", UNREADABLE, type(e).__name__)
        return
    if not head:
        report.reject(source, "file", EMPTY_FILE)
        return
    if is_binary(head):
        report.reject(source, "file", BINARY_FILE)
        return
    detected = fmt if fmt != "auto" else detect_format(path, head, options)
    if detected is None:
        report.reject(source, "file", UNKNOWN_FORMAT, "not recognised by extension or content")
        return
    yield from _guarded(path, detected, options, report)


def _guarded(
    path: Path, fmt: str, options: IngestOptions, report: IngestReport
) -> Iterator[Conversation]:
    """Run one format reader; an I/O error ends that file only."""
    logger.debug("reading %s as %s", path, fmt)
    accepted, rejected = report.accepted, report.total_rejected
    try:
        yield from READERS[fmt](path, options, report)
    except OSError as e:
        report.reject(str(path), "file", UNREADABLE, type(e).__name__)
    logger.debug(
        "format=%s accepted=%d rejected=%d",
        fmt,
        report.accepted - accepted,
        report.total_rejected - rejected,
    )
