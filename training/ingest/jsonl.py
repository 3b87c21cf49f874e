"""JSONL conversations: one JSON object per line (schema in docs/transcripts.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path

from training.ingest.model import (
    BAD_JSON,
    BAD_RECORD,
    BAD_TIMESTAMP,
    EMPTY_TEXT,
    MISSING_FIELD,
    NO_TURNS,
    ROLES,
    TOO_LARGE,
    UNDECODABLE,
    UNKNOWN_ROLE,
    Conversation,
    IngestOptions,
    IngestReport,
    Role,
    Turn,
)
from training.ingest.streams import iter_lines

logger = logging.getLogger(__name__)

DEFAULT_CHANNEL = "unknown"


class RecordError(Exception):
    """A record breaks the schema; carries the reason code and a text-free detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_timestamp(value: object) -> datetime | None:
    """Read an ISO 8601 string or a Unix time in seconds.

    Args:
        value: The field's value; None or absent means no timestamp.

    Returns:
        The timestamp (Unix times are UTC), or None.

    Raises:
        RecordError: If the value is not a timestamp.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise RecordError(BAD_TIMESTAMP, "timestamp is a boolean")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError) as e:
            raise RecordError(BAD_TIMESTAMP, "Unix time out of range") from e
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return datetime.fromisoformat(text)
        except ValueError as e:
            raise RecordError(BAD_TIMESTAMP, "not an ISO 8601 timestamp") from e
    raise RecordError(BAD_TIMESTAMP, f"timestamp is a {type(value).__name__}")


def conversation_from_record(
    record: object, source: str, location: str, report: IngestReport
) -> Conversation | None:
    """Build a conversation from one parsed JSONL record.

    Turns with an empty text are rejected one by one (``empty_text``); any other schema
    error rejects the whole record.

    Args:
        record: The parsed JSON value.
        source: The file, for the conversation and rejections.
        location: Where the record is, for rejections.
        report: Counts rejections of single turns.

    Returns:
        The conversation, or None if no turn was left.

    Raises:
        RecordError: If the record breaks the schema.
    """
    if not isinstance(record, Mapping):
        raise RecordError(BAD_RECORD, "record is not a JSON object")
    conv_id = record.get("id")
    if not isinstance(conv_id, str | int) or isinstance(conv_id, bool) or conv_id == "":
        raise RecordError(MISSING_FIELD, "'id' is missing or not a string")
    channel = record.get("channel", DEFAULT_CHANNEL)
    if not isinstance(channel, str) or not channel:
        raise RecordError(BAD_RECORD, "'channel' is not a non-empty string")
    raw_turns = record.get("turns")
    if not isinstance(raw_turns, list):
        raise RecordError(MISSING_FIELD, "'turns' is missing or not a list")
    turns: list[Turn] = []
    for number, raw in enumerate(raw_turns, start=1):
        turn = _turn(raw, number)
        if turn is None:
            report.reject(source, f"{location}, turn {number}", EMPTY_TEXT)
        else:
            turns.append(turn)
    if not turns:
        report.reject(source, location, NO_TURNS, "no turn with text")
        return None
    return Conversation(str(conv_id), channel, tuple(turns), source)


def _turn(raw: object, number: int) -> Turn | None:
    if not isinstance(raw, Mapping):
        raise RecordError(BAD_RECORD, f"turn {number} is not an object")
    role = raw.get("role")
    if role not in ROLES:
        raise RecordError(UNKNOWN_ROLE, f"turn {number}: role must be 'customer' or 'agent'")
    text = raw.get("text")
    if text is not None and not isinstance(text, str):
        raise RecordError(BAD_RECORD, f"turn {number}: 'text' is not a string")
    intent = raw.get("intent")
    if intent is not None and not isinstance(intent, str):
        raise RecordError(BAD_RECORD, f"turn {number}: 'intent' is not a string")
    timestamp = parse_timestamp(raw.get("timestamp"))
    if text is None or not text.strip():
        return None
    return Turn(Role(role), text.strip(), timestamp, intent or None)


def read_jsonl(path: Path, options: IngestOptions, report: IngestReport) -> Iterator[Conversation]:
    """Stream conversations from a JSONL file, one line at a time.

    Args:
        path: The file.
        options: ``max_record_bytes`` bounds a line.
        report: Receives the counts and rejections.

    Yields:
        Each valid conversation, in file order.
    """
    source = str(path)
    with path.open("rb") as stream:
        for number, line in enumerate(iter_lines(stream, options.max_record_bytes), start=1):
            location = f"line {number}"
            if line is None:
                report.read += 1
                report.reject(source, location, TOO_LARGE, f"over {options.max_record_bytes} bytes")
                continue
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                report.skip("blank_line")
                continue
            report.read += 1
            try:
                record = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as e:
                report.reject(source, location, UNDECODABLE, f"not UTF-8 at byte {e.start}")
                continue
            except json.JSONDecodeError as e:
                report.reject(source, location, BAD_JSON, e.msg)
                continue
            try:
                conversation = conversation_from_record(record, source, location, report)
            except RecordError as e:
                report.reject(source, location, e.reason, e.detail)
                continue
            if conversation is not None:
                yield report.accept(conversation)
