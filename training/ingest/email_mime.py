"""Email: single ``.eml`` files and mbox files, grouped into threads.

Bodies are parsed with the standard library ``email`` package (``policy=default``), decoded
strictly with their declared charset, converted from HTML when there is no text part, and
cleaned of quotes and signatures by :mod:`common.email_text`.
"""

from __future__ import annotations

import email
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from common.email_text import EmailDecodeError, body_text
from training.ingest.model import (
    BAD_EMAIL,
    EMPTY_TEXT,
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

CHANNEL = "email"
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_MBOX_LINE = 1 << 20


class EmailRecordError(Exception):
    """A message cannot be ingested; carries the reason code and a text-free detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ParsedEmail:
    """What ingest keeps of one message.

    Attributes:
        message_id: The Message-ID, or None.
        parents: Message-IDs from In-Reply-To and References.
        turn: The cleaned turn.
    """

    message_id: str | None
    parents: tuple[str, ...]
    turn: Turn


def role_for(address: str, options: IngestOptions) -> Role:
    """Map a sender address to a role with the configured support addresses and domains.

    Args:
        address: The sender's address.
        options: ``support_addresses`` and ``support_domains``.

    Returns:
        ``"agent"`` for a support address or domain (or subdomain), else ``"customer"``.
    """
    address = address.strip().lower()
    if address in {a.lower() for a in options.support_addresses}:
        return Role.AGENT
    domain = address.rpartition("@")[2]
    for support in options.support_domains:
        support = support.lower().lstrip("@")
        if domain == support or domain.endswith("." + support):
            return Role.AGENT
    return Role.CUSTOMER


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):
        return ""
    return str(value) if value is not None else ""


def _sender(message: EmailMessage) -> str:
    try:
        header = message.get("From")
        addresses = getattr(header, "addresses", ())
    except (ValueError, IndexError, TypeError):
        addresses = ()
    for address in addresses:
        if address.addr_spec and "@" in address.addr_spec:
            return str(address.addr_spec)
    raise EmailRecordError(UNKNOWN_ROLE, "no sender address in From")


def _date(message: EmailMessage) -> datetime | None:
    try:
        header = message.get("Date")
        value = getattr(header, "datetime", None)
    except (ValueError, IndexError, TypeError):
        return None
    return value if isinstance(value, datetime) else None


def parse_email(raw: bytes, options: IngestOptions) -> ParsedEmail:
    """Parse one message into a turn and its threading headers.

    Args:
        raw: The message bytes.
        options: Decides the sender's role.

    Returns:
        The parsed message.

    Raises:
        EmailRecordError: If it has no sender, no text, or cannot be decoded.
    """
    try:
        message = email.message_from_bytes(raw, policy=default)
    except Exception as e:  # the parser is lenient; anything it raises is a broken message
        raise EmailRecordError(BAD_EMAIL, type(e).__name__) from e
    if not isinstance(message, EmailMessage):
        raise EmailRecordError(BAD_EMAIL, "not a MIME message")
    role = role_for(_sender(message), options)
    try:
        text = body_text(message)
    except EmailDecodeError as e:
        raise EmailRecordError(UNDECODABLE, e.detail) from e
    except (KeyError, ValueError, AssertionError) as e:
        raise EmailRecordError(BAD_EMAIL, type(e).__name__) from e
    if not text:
        raise EmailRecordError(EMPTY_TEXT, "no text left after removing quotes and signature")
    ids = _MESSAGE_ID.findall(_header(message, "Message-ID"))
    parents = tuple(
        _MESSAGE_ID.findall(_header(message, "References"))
        + _MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    )
    return ParsedEmail(ids[0] if ids else None, parents, Turn(role, text, _date(message)))


def read_eml(path: Path, options: IngestOptions, report: IngestReport) -> Iterator[Conversation]:
    """Read one ``.eml`` file as a one-turn conversation.

    Args:
        path: The file.
        options: Roles and ``max_message_bytes``.
        report: Receives the counts and rejections.

    Yields:
        The conversation, if the message is usable.
    """
    source = str(path)
    report.read += 1
    if path.stat().st_size > options.max_message_bytes:
        report.reject(source, "message 1", TOO_LARGE, f"over {options.max_message_bytes} bytes")
        return
    try:
        parsed = parse_email(path.read_bytes(), options)
    except EmailRecordError as e:
        report.reject(source, "message 1", e.reason, e.detail)
        return
    conv_id = parsed.message_id or path.stem
    yield report.accept(Conversation(conv_id, CHANNEL, (parsed.turn,), source))


def iter_mbox(path: Path, max_bytes: int) -> Iterator[bytes | None]:
    """Split an mbox file into messages, streaming; ``>From`` escapes are undone.

    Args:
        path: The mbox file.
        max_bytes: Largest message kept; a larger one is yielded as None.

    Yields:
        Each message's bytes, or None for one that was too large.
    """
    lines: list[bytes] = []
    size = 0
    too_large = False
    started = False
    previous_blank = True
    with path.open("rb") as stream:
        for line in iter_lines(stream, _MBOX_LINE):
            if line is not None and line.startswith(b"From ") and previous_blank:
                if started:
                    yield None if too_large else b"\n".join(lines)
                started, lines, size, too_large = True, [], 0, False
                previous_blank = False
                continue
            previous_blank = line is not None and not line.strip()
            if too_large:
                continue
            if line is None or size + len(line) > max_bytes:
                too_large, lines = True, []
                continue
            if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
                line = line[1:]
            lines.append(line)
            size += len(line) + 1
    if started:
        yield None if too_large else b"\n".join(lines)


class _Threads:
    """Union-find over Message-IDs, so replies join the thread of what they answer."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self._parent.setdefault(key, key)
        root = key
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[key] != root:
            self._parent[key], key = root, self._parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self._parent[root_b] = root_a


def read_mbox(path: Path, options: IngestOptions, report: IngestReport) -> Iterator[Conversation]:
    """Read an mbox file and group its messages into threads.

    Messages join a thread through Message-ID, In-Reply-To and References. The cleaned
    turns of the whole file are held until the end, since a reply may come anywhere.
    Turns are ordered by Date (messages without one keep file order, after dated ones).

    Args:
        path: The mbox file.
        options: Roles and ``max_message_bytes``.
        report: Receives the counts and rejections.

    Yields:
        One conversation per thread, in the order the threads start in the file.
    """
    source = str(path)
    threads = _Threads()
    messages: list[tuple[str, ParsedEmail]] = []
    for number, raw in enumerate(iter_mbox(path, options.max_message_bytes), start=1):
        report.read += 1
        location = f"message {number}"
        if raw is None:
            report.reject(source, location, TOO_LARGE, f"over {options.max_message_bytes} bytes")
            continue
        try:
            parsed = parse_email(raw, options)
        except EmailRecordError as e:
            report.reject(source, location, e.reason, e.detail)
            continue
        key = parsed.message_id or f"<{number}@{path.name}>"
        threads.find(key)
        for parent in parsed.parents:
            threads.union(parent, key)
        messages.append((key, parsed))
    groups: dict[str, list[tuple[int, str, ParsedEmail]]] = {}
    for order, (key, parsed) in enumerate(messages):
        groups.setdefault(threads.find(key), []).append((order, key, parsed))
    for members in groups.values():
        members.sort(key=_turn_order)
        turns = tuple(parsed.turn for _, _, parsed in members)
        yield report.accept(Conversation(members[0][1], CHANNEL, turns, source))


def _turn_order(member: tuple[int, str, ParsedEmail]) -> tuple[int, float, int]:
    order, _, parsed = member
    stamp = parsed.turn.timestamp
    if stamp is None:
        return (1, 0.0, order)
    return (0, stamp.timestamp(), order)
