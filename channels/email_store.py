"""Where the email channel remembers each conversation's thread.

Agents answer later, often after a restart, so the customer's address, the subject and the
thread's Message-IDs are kept in SQLite. Calls run in a worker thread (``asyncio.to_thread``)
with a connection per call, so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Protocol

from channels.email_reply import ThreadState

__all__ = ["EmailThreadStore", "SQLiteEmailThreadStore"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS email_threads (
    sender_id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    subject TEXT NOT NULL,
    last_message_id TEXT,
    refs TEXT NOT NULL,
    updated_at REAL NOT NULL DEFAULT (julianday('now'))
)
"""


class EmailThreadStore(Protocol):
    """Keeps one :class:`ThreadState` per conversation."""

    async def get(self, sender_id: str) -> ThreadState | None:
        """Return the thread of ``sender_id``, or None if it is unknown."""

    async def save(self, state: ThreadState) -> None:
        """Insert or replace the thread of ``state.sender_id``."""


class SQLiteEmailThreadStore:
    """:class:`EmailThreadStore` in a SQLite file.

    Args:
        path: The database file; its folder is created on first use.

    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        if not self._ready:
            with connection:
                connection.execute(_SCHEMA)
            self._ready = True
        return connection

    def _get(self, sender_id: str) -> ThreadState | None:
        with closing(self._connect()) as connection:
            row = connection.execute(
                "SELECT customer, subject, last_message_id, refs FROM email_threads "
                "WHERE sender_id = ?",
                (sender_id,),
            ).fetchone()
        if row is None:
            return None
        customer, subject, last_message_id, refs = row
        return ThreadState(sender_id, customer, subject, last_message_id, tuple(json.loads(refs)))

    def _save(self, state: ThreadState) -> None:
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "INSERT OR REPLACE INTO email_threads "
                "(sender_id, customer, subject, last_message_id, refs) VALUES (?, ?, ?, ?, ?)",
                (
                    state.sender_id,
                    state.customer,
                    state.subject,
                    state.last_message_id,
                    json.dumps(list(state.references)),
                ),
            )

    async def get(self, sender_id: str) -> ThreadState | None:
        """Return the thread of ``sender_id``, or None if it is unknown."""
        return await asyncio.to_thread(self._get, sender_id)

    async def save(self, state: ThreadState) -> None:
        """Insert or replace the thread of ``state.sender_id``."""
        await asyncio.to_thread(self._save, state)
        logger.debug("Saved the email thread of %s.", state.sender_id)
