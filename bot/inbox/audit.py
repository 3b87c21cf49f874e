"""Audit log of agent actions: who did what to which ticket, and when (never message text)."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.inbox.db import InboxDB

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    ticket_id TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_ticket ON audit(ticket_id)
"""


@dataclass(frozen=True)
class AuditEntry:
    """One agent action.

    Attributes:
        at: Unix time.
        actor: The user who acted.
        action: ``login``, ``claim``, ``reply``, ``resolve``, ``transfer``, ``correct``, ...
        ticket_id: The ticket, if any.
        detail: Ids or names only (e.g. the agent a ticket went to), never message text.
    """

    at: float
    actor: str
    action: str
    ticket_id: str | None = None
    detail: str | None = None


class AuditLog:
    """Appends and reads audit entries.

    Args:
        db: The inbox database.
        clock: Returns the current Unix time.
    """

    def __init__(self, db: InboxDB, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def initialize(self) -> None:
        """Create the table."""
        await self.db.ensure_schema(SCHEMA)

    async def record(
        self, actor: str, action: str, ticket_id: str | None = None, detail: str | None = None
    ) -> AuditEntry:
        """Append an entry.

        Args:
            actor: The user.
            action: What they did.
            ticket_id: The ticket, if any.
            detail: Ids or names only.

        Returns:
            The entry.
        """
        entry = AuditEntry(self._clock(), actor, action, ticket_id, detail)
        await self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO audit(at, actor, action, ticket_id, detail) VALUES (?,?,?,?,?)",
                (entry.at, entry.actor, entry.action, entry.ticket_id, entry.detail),
            )
        )
        logger.info("Audit: %s %s ticket %s.", actor, action, ticket_id or "-")
        return entry

    async def entries(self, ticket_id: str | None = None) -> list[AuditEntry]:
        """Entries, oldest first; only the ticket's when ``ticket_id`` is given."""

        def read(conn: sqlite3.Connection) -> list[AuditEntry]:
            sql = "SELECT at, actor, action, ticket_id, detail FROM audit"
            args: tuple[str, ...] = ()
            if ticket_id is not None:
                sql += " WHERE ticket_id=?"
                args = (ticket_id,)
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
            return [
                AuditEntry(r["at"], r["actor"], r["action"], r["ticket_id"], r["detail"])
                for r in rows
            ]

        return await self.db.run(read, write=False)
