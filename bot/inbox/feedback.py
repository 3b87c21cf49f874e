"""What agents teach the bot: reply pairs, edited suggestions and corrected intents.

Everything is redacted with :class:`common.privacy.Redactor` before it is stored, so the
feedback database holds no customer PII. ``python -m training export-feedback`` turns it
into NLU examples and generation pairs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.inbox.db import InboxDB
from bot.nlg.generation.pairs import GenerationPair, turns_from

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback_pairs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    context TEXT NOT NULL,
    customer TEXT NOT NULL,
    agent TEXT NOT NULL,
    intent TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback_edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL,
    suggestion TEXT NOT NULL,
    final TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback_corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL,
    text TEXT NOT NULL,
    predicted TEXT NOT NULL,
    intent TEXT NOT NULL,
    at REAL NOT NULL
)
"""


class TextRedactor(Protocol):
    """Redacts the texts of one conversation with shared placeholders (blocking)."""

    def __call__(self, texts: Sequence[str]) -> list[str]:
        """Return the texts redacted, in order."""
        ...


def pii_redactor() -> TextRedactor:
    """The project's PII redactor (spaCy loads on first use, in a worker thread).

    Returns:
        A function redacting one conversation's texts with consistent placeholders.
    """
    from common.privacy import PlaceholderSession, Redactor

    redactor: Redactor | None = None

    def redact(texts: Sequence[str]) -> list[str]:
        nonlocal redactor
        if redactor is None:
            redactor = Redactor()
        return [r.text for r in redactor.redact_many(texts, PlaceholderSession())]

    return redact


@dataclass(frozen=True)
class Correction:
    """A bot turn marked wrong: the customer's (redacted) text and the right intent."""

    ticket_id: str
    text: str
    predicted: str
    intent: str


@dataclass(frozen=True)
class SuggestionEdit:
    """A suggestion the agent changed before sending, beside what was sent."""

    ticket_id: str
    suggestion: str
    final: str


class FeedbackStore:
    """Stores redacted feedback in the inbox database.

    Args:
        db: The inbox database.
        redactor: Redacts one conversation's texts; default: :func:`pii_redactor`.
        clock: Returns the current Unix time.
    """

    def __init__(
        self,
        db: InboxDB,
        redactor: TextRedactor | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self._redact = redactor or pii_redactor()
        self._clock = clock

    async def initialize(self) -> None:
        """Create the tables."""
        await self.db.ensure_schema(SCHEMA)

    async def _redacted(self, texts: Sequence[str]) -> list[str]:
        return await asyncio.to_thread(self._redact, list(texts))

    async def add_pair(
        self,
        ticket_id: str,
        conversation_id: str,
        channel: str,
        context: Iterable[tuple[str, str]],
        customer: str,
        agent: str,
        intent: str,
    ) -> GenerationPair:
        """Store an agent reply to a customer question with its context, redacted.

        Returns:
            The stored (redacted) pair.
        """
        turns = list(context)
        texts = await self._redacted([t for _, t in turns] + [customer, agent])
        pair = GenerationPair(
            conversation_id,
            channel,
            turns_from((role, text) for (role, _), text in zip(turns, texts, strict=False)),
            texts[-2],
            texts[-1],
            intent,
        )
        now = self._clock()
        await self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO feedback_pairs(ticket_id, conversation_id, channel, context,"
                " customer, agent, intent, at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    ticket_id,
                    conversation_id,
                    channel,
                    json.dumps([[t.role.value, t.text] for t in pair.context]),
                    pair.customer,
                    pair.agent,
                    intent,
                    now,
                ),
            )
        )
        logger.info("Feedback pair stored for ticket %s.", ticket_id)
        return pair

    async def add_edit(self, ticket_id: str, suggestion: str, final: str) -> SuggestionEdit:
        """Store a suggestion beside the agent's edit of it, both redacted."""
        redacted = await self._redacted([suggestion, final])
        edit = SuggestionEdit(ticket_id, redacted[0], redacted[1])
        now = self._clock()
        await self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO feedback_edits(ticket_id, suggestion, final, at) VALUES (?,?,?,?)",
                (ticket_id, edit.suggestion, edit.final, now),
            )
        )
        logger.info("Suggestion edit stored for ticket %s.", ticket_id)
        return edit

    async def add_correction(
        self, ticket_id: str, text: str, predicted: str, intent: str
    ) -> Correction:
        """Store a customer message the bot misread, redacted, with the right intent."""
        (redacted,) = await self._redacted([text])
        correction = Correction(ticket_id, redacted, predicted, intent)
        now = self._clock()
        await self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO feedback_corrections(ticket_id, text, predicted, intent, at)"
                " VALUES (?,?,?,?,?)",
                (ticket_id, redacted, predicted, intent, now),
            )
        )
        logger.info(
            "Intent correction stored for ticket %s (%s -> %s).", ticket_id, predicted, intent
        )
        return correction


def read_feedback(
    db: InboxDB,
) -> tuple[list[GenerationPair], list[Correction], list[SuggestionEdit]]:
    """Read all feedback (blocking; the export command uses it).

    Args:
        db: The inbox database.

    Returns:
        Pairs, corrections and edits, oldest first.
    """

    def read(
        conn: sqlite3.Connection,
    ) -> tuple[list[GenerationPair], list[Correction], list[SuggestionEdit]]:
        for statement in SCHEMA.split(";"):
            conn.execute(statement)
        pairs = [
            GenerationPair(
                r["conversation_id"],
                r["channel"],
                turns_from((str(role), str(text)) for role, text in json.loads(r["context"])),
                r["customer"],
                r["agent"],
                r["intent"],
            )
            for r in conn.execute("SELECT * FROM feedback_pairs ORDER BY id")
        ]
        corrections = [
            Correction(r["ticket_id"], r["text"], r["predicted"], r["intent"])
            for r in conn.execute("SELECT * FROM feedback_corrections ORDER BY id")
        ]
        edits = [
            SuggestionEdit(r["ticket_id"], r["suggestion"], r["final"])
            for r in conn.execute("SELECT * FROM feedback_edits ORDER BY id")
        ]
        return pairs, corrections, edits

    return db.run_sync(read, write=False)
