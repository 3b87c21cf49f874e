"""CSV files of request/reply pairs, each row a two-turn conversation."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from pathlib import Path

from training.ingest.model import (
    BAD_CSV,
    EMPTY_TEXT,
    MISSING_COLUMN,
    TOO_LARGE,
    UNDECODABLE,
    Conversation,
    CsvMapping,
    IngestOptions,
    IngestReport,
    Role,
    Turn,
)
from training.ingest.streams import iter_lines

logger = logging.getLogger(__name__)


class _Lines:
    """Decoded lines for ``csv.reader``, remembering problems met since the last row."""

    def __init__(self, raw: Iterator[bytes | None], encoding: str) -> None:
        self._raw = raw
        self._encoding = encoding
        self.problem: str | None = None
        self._first = True

    def __iter__(self) -> Iterator[str]:
        for line in self._raw:
            if line is None:
                self.problem = TOO_LARGE
                yield "\n"
                continue
            if self._first and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            self._first = False
            try:
                yield line.decode(self._encoding) + "\n"
            except UnicodeDecodeError:
                self.problem = self.problem or UNDECODABLE
                yield line.decode(self._encoding, errors="replace") + "\n"


def _column_index(header: list[str], name: str | None) -> int | None:
    if name is None:
        return None
    lowered = [column.strip().lower() for column in header]
    try:
        return lowered.index(name.strip().lower())
    except ValueError:
        return None


def read_csv_pairs(
    path: Path, options: IngestOptions, report: IngestReport
) -> Iterator[Conversation]:
    """Stream two-turn conversations from a CSV of request/reply pairs.

    The columns are found by name with ``options.csv``; a configured column missing from the
    header rejects the file (``missing_column``). A row with an empty request or reply is
    rejected (``empty_text``), as is one too short for the columns (``missing_column``).

    Args:
        path: The file.
        options: The column mapping, the encoding and ``max_record_bytes`` per line.
        report: Receives the counts and rejections.

    Yields:
        One conversation per valid row: the customer turn (with the intent) and the reply.
    """
    source = str(path)
    mapping: CsvMapping = options.csv
    with path.open("rb") as stream:
        lines = _Lines(iter_lines(stream, options.max_record_bytes), options.csv_encoding)
        rows = csv.reader(iter(lines))
        try:
            header = next(rows)
        except StopIteration:
            return
        except csv.Error as e:
            report.reject(source, "header", BAD_CSV, str(e))
            return
        if lines.problem is not None:
            report.reject(source, "header", lines.problem)
            return
        wanted = {
            "request": mapping.request_column,
            "reply": mapping.reply_column,
            "intent": mapping.intent_column,
            "id": mapping.id_column,
        }
        index: dict[str, int | None] = {}
        for key, name in wanted.items():
            index[key] = _column_index(header, name)
            if name is not None and index[key] is None:
                report.reject(source, "header", MISSING_COLUMN, f"no column {name!r}")
                return
        request_at, reply_at = index["request"], index["reply"]
        assert request_at is not None and reply_at is not None
        needed = max(i for i in index.values() if i is not None) + 1
        number = 0
        while True:
            lines.problem = None
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as e:
                number += 1
                report.read += 1
                reason = TOO_LARGE if "field larger" in str(e) else BAD_CSV
                report.reject(source, f"row {number}", reason, str(e))
                continue
            if lines.problem is None and not any(cell.strip() for cell in row):
                report.skip("blank_line")
                continue
            number += 1
            report.read += 1
            location = f"row {number}"
            if lines.problem is not None:
                report.reject(source, location, lines.problem)
                continue
            if len(row) < needed:
                report.reject(source, location, MISSING_COLUMN, f"{len(row)} of {needed} cells")
                continue
            request, reply = row[request_at].strip(), row[reply_at].strip()
            if not request or not reply:
                report.reject(source, location, EMPTY_TEXT, "empty request or reply")
                continue
            intent_at = index["intent"]
            intent = (row[intent_at].strip() or None) if intent_at is not None else None
            id_at = index["id"]
            conv_id = row[id_at].strip() if id_at is not None else ""
            turns = (Turn(Role.CUSTOMER, request, None, intent), Turn(Role.AGENT, reply))
            yield report.accept(
                Conversation(conv_id or f"{path.stem}:{number}", mapping.channel, turns, source)
            )
