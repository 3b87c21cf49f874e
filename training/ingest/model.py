"""The normalised transcript model every ingest format reads into, and the ingest report.

Turns are the shared :class:`common.conversation.Turn` (roles customer and agent).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from common.conversation import HUMAN_ROLES, Role, Turn

ROLES: frozenset[Role] = HUMAN_ROLES
"""The roles a transcript may hold: customer and agent."""

# Rejection reason codes: short and stable, documented in docs/transcripts.md.
BAD_JSON = "bad_json"
BAD_CSV = "bad_csv"
BAD_RECORD = "bad_record"
BAD_TIMESTAMP = "bad_timestamp"
BINARY_FILE = "binary_file"
EMPTY_FILE = "empty_file"
EMPTY_TEXT = "empty_text"
MISSING_COLUMN = "missing_column"
MISSING_FIELD = "missing_field"
NO_TURNS = "no_turns"
TOO_LARGE = "too_large"
UNDECODABLE = "undecodable"
UNKNOWN_FORMAT = "unknown_format"
UNKNOWN_ROLE = "unknown_role"
BAD_EMAIL = "bad_email"
UNREADABLE = "unreadable"

REASONS: frozenset[str] = frozenset(
    {
        BAD_JSON,
        BAD_CSV,
        BAD_RECORD,
        BAD_TIMESTAMP,
        BINARY_FILE,
        EMPTY_FILE,
        EMPTY_TEXT,
        MISSING_COLUMN,
        MISSING_FIELD,
        NO_TURNS,
        TOO_LARGE,
        UNDECODABLE,
        UNKNOWN_FORMAT,
        UNKNOWN_ROLE,
        BAD_EMAIL,
        UNREADABLE,
    }
)


@dataclass(frozen=True)
class Conversation:
    """A conversation between a customer and support, in order.

    Attributes:
        id: Identifier, unique within its source.
        channel: Where it happened (``web``, ``email``, ``slack``, ...).
        turns: The turns, oldest first; never empty.
        source: The file (or folder) it was read from.
    """

    id: str
    channel: str
    turns: tuple[Turn, ...]
    source: str


@dataclass(frozen=True)
class Rejection:
    """A record that was not ingested, and why.

    Attributes:
        source: The file it came from.
        location: Where in the file (``line 3``, ``row 12``, ``message 2``, ...).
        reason: One of the reason codes in :data:`REASONS`.
        detail: A short explanation; never contains the record's text.
    """

    source: str
    location: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class CsvMapping:
    """Which CSV columns hold a request/reply pair (names match case-insensitively).

    Attributes:
        request_column: The customer's message.
        reply_column: The agent's reply.
        intent_column: The customer message's intent, or None if the file has none.
        id_column: A conversation id column, or None to number the rows.
        channel: The channel recorded on every conversation of the file.
    """

    request_column: str = "instruction"
    reply_column: str = "response"
    intent_column: str | None = "intent"
    id_column: str | None = None
    channel: str = "csv"


def _default_speakers() -> dict[str, Role]:
    return {"user": Role.CUSTOMER, "assistant": Role.AGENT}


@dataclass(frozen=True)
class TaskmasterMapping:
    """How a Taskmaster-style JSON dialogue maps onto a conversation.

    Attributes:
        id_field: The dialogue's id.
        turns_field: The list of utterances.
        speaker_field: An utterance's speaker.
        text_field: An utterance's text.
        speakers: Speaker value (case-insensitive) to role.
        channel: The channel recorded on every conversation.
    """

    id_field: str = "conversation_id"
    turns_field: str = "utterances"
    speaker_field: str = "speaker"
    text_field: str = "text"
    speakers: Mapping[str, Role] = field(default_factory=_default_speakers)
    channel: str = "taskmaster"


@dataclass(frozen=True)
class IngestOptions:
    """Settings for reading transcripts.

    Attributes:
        max_record_bytes: Largest JSONL line, CSV line or JSON array element accepted.
        max_message_bytes: Largest email message (an ``.eml`` file or one mbox entry).
        csv_encoding: Encoding of CSV files (JSONL and JSON are always UTF-8).
        csv: The CSV column mapping.
        taskmaster: The Taskmaster dialogue mapping.
        support_addresses: Email addresses whose messages are agent turns.
        support_domains: Email domains (and their subdomains) whose messages are agent turns.
        slack_agent_user_ids: Slack user ids whose messages are agent turns.
        slack_bots_are_agents: Whether Slack messages with a ``bot_id`` are agent turns.
    """

    max_record_bytes: int = 1_000_000
    max_message_bytes: int = 25_000_000
    csv_encoding: str = "utf-8"
    csv: CsvMapping = field(default_factory=CsvMapping)
    taskmaster: TaskmasterMapping = field(default_factory=TaskmasterMapping)
    support_addresses: frozenset[str] = frozenset()
    support_domains: frozenset[str] = frozenset()
    slack_agent_user_ids: frozenset[str] = frozenset()
    slack_bots_are_agents: bool = True


@dataclass
class IngestReport:
    """Counts of what a run read, accepted, skipped and rejected.

    Units: ``read`` counts input records (a JSONL line, a CSV row, a dialogue, an email or a
    Slack message); ``accepted`` counts conversations yielded and ``turns`` their turns.
    ``rejected`` counts rejections by reason (a rejection may be a whole record or one turn
    of it); ``skipped`` counts records left out on purpose (blank lines, Slack join/leave
    events), by kind. Only the first ``max_kept`` rejections are kept in ``rejections``;
    the counts are always complete.
    """

    max_kept: int = 1000
    read: int = 0
    accepted: int = 0
    turns: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)

    def reject(self, source: str, location: str, reason: str, detail: str = "") -> None:
        """Count a rejection and keep it if there is room.

        Args:
            source: The file the record came from.
            location: Where in the file.
            reason: A reason code from :data:`REASONS`.
            detail: A short explanation without any record text.
        """
        self.rejected[reason] += 1
        if len(self.rejections) < self.max_kept:
            self.rejections.append(Rejection(source, location, reason, detail))

    def skip(self, kind: str, count: int = 1) -> None:
        """Count records left out on purpose.

        Args:
            kind: What was left out, e.g. ``blank_line`` or ``channel_join``.
            count: How many.
        """
        self.skipped[kind] += count

    def accept(self, conversation: Conversation) -> Conversation:
        """Count a conversation about to be yielded.

        Args:
            conversation: The conversation.

        Returns:
            The same conversation, for use in a ``yield``.
        """
        self.accepted += 1
        self.turns += len(conversation.turns)
        return conversation

    @property
    def total_rejected(self) -> int:
        """All rejections, whatever the reason."""
        return sum(self.rejected.values())

    def summary(self) -> dict[str, object]:
        """The counts as a plain dict, safe to log (no record text)."""
        return {
            "read": self.read,
            "accepted": self.accepted,
            "turns": self.turns,
            "rejected": dict(sorted(self.rejected.items())),
            "skipped": dict(sorted(self.skipped.items())),
        }
