"""Automatic format detection, by extension first and by sniffing the content after."""

from __future__ import annotations

import re
from pathlib import Path

from training.ingest.model import IngestOptions
from training.ingest.slack_export import is_channel_dir

FORMATS: tuple[str, ...] = ("jsonl", "csv", "taskmaster", "eml", "mbox", "slack")
SNIFF_BYTES = 8192

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".eml": "eml",
    ".mbox": "mbox",
    ".mbx": "mbox",
}
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\b\x1b")
_EMAIL_HEADER = re.compile(
    r"^(From|To|Subject|Date|Message-ID|MIME-Version|Received|Return-Path|Delivered-To):",
    re.IGNORECASE | re.MULTILINE,
)
_SLACK_TS = re.compile(r'"ts"\s*:\s*"\d+\.\d+"')


def is_binary(head: bytes) -> bool:
    """Whether the first bytes of a file look binary rather than text.

    Args:
        head: The first few KB of the file.

    Returns:
        True if there is a NUL byte or more than 10% control characters.
    """
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in _TEXT_CONTROLS)
    return bool(head) and controls / len(head) > 0.1


def is_slack_export(path: Path) -> bool:
    """Whether a folder is a Slack export root or one of its channel folders.

    Args:
        path: A folder.

    Returns:
        True for a folder of day files, or one with a ``channels.json`` beside channel
        folders.
    """
    if is_channel_dir(path):
        return True
    return (path / "channels.json").is_file() and any(
        is_channel_dir(child) for child in path.iterdir() if child.is_dir()
    )


def detect_format(path: Path, head: bytes, options: IngestOptions | None = None) -> str | None:
    """Name the format of a file from its extension, or else its first bytes.

    Args:
        path: The file.
        head: Its first bytes (see :data:`SNIFF_BYTES`).
        options: The CSV mapping, used to recognise a CSV header.

    Returns:
        One of :data:`FORMATS`, or None if the format is not recognised.
    """
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    if by_extension is not None:
        return by_extension
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if path.suffix.lower() == ".json" or text.startswith("["):
        return _sniff_json(text)
    if text.startswith("{"):
        return "jsonl"
    if text.startswith("From "):
        return "mbox"
    if _EMAIL_HEADER.match(text) and len(_EMAIL_HEADER.findall(text)) >= 2:
        return "eml"
    mapping = (options or IngestOptions()).csv
    first_line = text.split("\n", 1)[0].lower()
    if "," in first_line and mapping.request_column.lower() in first_line:
        return "csv"
    return None


def _sniff_json(text: str) -> str | None:
    if text.startswith("{"):
        return "jsonl"
    if not text.startswith("["):
        return None
    if '"utterances"' in text:
        return "taskmaster"
    if _SLACK_TS.search(text):
        return "slack"
    return None
