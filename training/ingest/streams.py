"""Bounded-memory readers shared by the formats: lines and the elements of a JSON array."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from training.ingest.model import BAD_JSON, TOO_LARGE, UNDECODABLE

_CHUNK = 1 << 16
_IN_STRING = re.compile(r'["\\]')
_OUTSIDE = re.compile(r'["{}\[\]]')
_SCALAR_END = re.compile(r"[,\]]")


@dataclass(frozen=True)
class Problem:
    """Why a record could not be read.

    Attributes:
        reason: A reason code.
        detail: A short explanation without record text.
    """

    reason: str
    detail: str = ""


def iter_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """Yield the lines of a binary stream without their line ending.

    A line longer than ``max_bytes`` is never held in memory: it is read past in chunks and
    yielded as ``None``.

    Args:
        stream: An open binary file.
        max_bytes: Longest line accepted, in bytes.

    Yields:
        Each line's bytes, or None for a line that was too long.
    """
    while True:
        line = stream.readline(max_bytes + 2)
        if not line:
            return
        if len(line) == max_bytes + 2 and not line.endswith(b"\n"):
            while True:
                rest = stream.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        content = line.rstrip(b"\r\n")
        yield None if len(content) > max_bytes else content


class _ArrayScanner:
    """Finds the elements of a top-level JSON array in a character stream."""

    def __init__(self, stream: BinaryIO, max_chars: int) -> None:
        self._text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
        self._max = max_chars
        self._buf = ""
        self._pos = 0
        self._eof = False

    def _more(self) -> bool:
        """Read another chunk; False at the end of the stream (UnicodeDecodeError escapes)."""
        if self._eof:
            return False
        chunk = self._text.read(_CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _skip_space(self) -> str | None:
        """Move past whitespace; return the next character, or None at the end."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos].isspace():
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return None

    def _compact(self) -> None:
        self._buf = self._buf[self._pos :]
        self._pos = 0

    def elements(self) -> Iterator[object | Problem]:
        """Yield each element, parsed, or a Problem; stops after a fatal problem."""
        if self._skip_space() != "[":
            yield Problem(BAD_JSON, "not a JSON array")
            return
        self._pos += 1
        first = True
        while True:
            self._compact()
            char = self._skip_space()
            if char is None:
                yield Problem(BAD_JSON, "truncated: the array is not closed")
                return
            if char == "]":
                return
            if not first:
                if char != ",":
                    yield Problem(BAD_JSON, "expected ',' between elements")
                    return
                self._pos += 1
                char = self._skip_space()
                if char is None:
                    yield Problem(BAD_JSON, "truncated: the array is not closed")
                    return
            first = False
            self._compact()
            item = self._element(char)
            yield item
            if isinstance(item, Problem) and item.detail.startswith("truncated"):
                return

    def _element(self, char: str) -> object | Problem:
        """Scan one element starting at the current position."""
        if char not in "{[":
            return self._scalar()
        depth = 0
        in_string = False
        too_large = False
        start = self._pos
        while True:
            pattern = _IN_STRING if in_string else _OUTSIDE
            match = pattern.search(self._buf, self._pos)
            if match is None:
                self._pos = len(self._buf)
                if self._pos - start > self._max:
                    too_large = True
                if too_large:
                    self._buf, self._pos, start = "", 0, 0
                if not self._more():
                    return Problem(BAD_JSON, "truncated: the element is not closed")
                continue
            found = match.group()
            self._pos = match.end()
            if in_string:
                if found == "\\":
                    self._pos += 1
                    while self._pos > len(self._buf):
                        if not self._more():
                            return Problem(BAD_JSON, "truncated: the element is not closed")
                else:
                    in_string = False
            elif found == '"':
                in_string = True
            elif found in "{[":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    break
        if too_large or self._pos - start > self._max:
            return Problem(TOO_LARGE, f"element over {self._max} characters")
        try:
            return json.loads(self._buf[start : self._pos])
        except json.JSONDecodeError as e:
            return Problem(BAD_JSON, e.msg)

    def _scalar(self) -> Problem:
        """Move past a non-container element; it is never a valid record."""
        while True:
            match = _SCALAR_END.search(self._buf, self._pos)
            if match is not None:
                self._pos = match.start()
                return Problem(BAD_JSON, "element is not an object")
            self._pos = len(self._buf)
            self._compact()
            if not self._more():
                return Problem(BAD_JSON, "truncated: the element is not closed")


def iter_json_array(stream: BinaryIO, max_chars: int) -> Iterator[object | Problem]:
    """Yield the elements of a top-level JSON array, one at a time.

    Memory stays bounded by ``max_chars``: a larger element is skipped without being held
    and reported as ``too_large``. A malformed element is reported as ``bad_json`` and
    reading goes on; a truncated array ends the stream with a ``bad_json`` problem.

    Args:
        stream: An open binary file holding UTF-8 JSON.
        max_chars: Largest element accepted, in characters.

    Yields:
        Each parsed element, or a :class:`Problem` in its place.
    """
    scanner = _ArrayScanner(stream, max_chars)
    try:
        yield from scanner.elements()
    except UnicodeDecodeError as e:
        yield Problem(UNDECODABLE, f"not UTF-8 at byte {e.start} of a chunk")
