"""The inbox's SQLite file: one connection per operation, run off the event loop.

Writes open their transaction with ``BEGIN IMMEDIATE`` (the write lock is taken up
front, so two writers never deadlock upgrading a read lock); reads use a plain
``BEGIN``, which in WAL mode reads a snapshot without waiting for a writer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from common.errors import BotError

logger = logging.getLogger(__name__)

DEFAULT_DB_PATH = ".cache/inbox.db"

T = TypeVar("T")


class InboxStoreError(BotError):
    """The inbox database could not be read or written."""

    status_code = 503


class InboxDB:
    """A SQLite file shared by the inbox's stores (users, sessions, audit, feedback).

    Args:
        path: The database file; its folder is created on first use.
    """

    def __init__(self, path: str | Path = DEFAULT_DB_PATH) -> None:
        self.path = str(path)

    def connect(self) -> sqlite3.Connection:
        """Open a connection (blocking; call from a worker thread).

        Returns:
            A connection in WAL mode with a busy timeout.
        """
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def run_sync(self, work: Callable[[sqlite3.Connection], T], *, write: bool = True) -> T:
        """Run ``work`` with a fresh connection inside one transaction (blocking).

        Args:
            work: Receives the connection.
            write: Whether ``work`` writes: its transaction then takes the write lock
                at once (``BEGIN IMMEDIATE``); a read (``False``) runs on a snapshot
                (``BEGIN``) and never queues behind a writer.

        Returns:
            What ``work`` returns.

        Raises:
            InboxStoreError: If SQLite fails.
        """
        try:
            conn = self.connect()
        except (sqlite3.Error, OSError) as e:
            raise InboxStoreError(f"cannot open the inbox database ({type(e).__name__})") from e
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            result = work(conn)
            conn.execute("COMMIT")
            return result
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise InboxStoreError(f"inbox database error ({type(e).__name__})") from e
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    async def run(self, work: Callable[[sqlite3.Connection], T], *, write: bool = True) -> T:
        """Run ``work`` in a worker thread; see :meth:`run_sync`."""
        return await asyncio.to_thread(self.run_sync, work, write=write)

    async def ensure_schema(self, statements: str) -> None:
        """Create tables and indexes (idempotent ``CREATE ... IF NOT EXISTS`` script).

        Args:
            statements: The SQL script.
        """

        def create(conn: sqlite3.Connection) -> None:
            for statement in statements.split(";"):
                if statement.strip():
                    conn.execute(statement)

        await self.run(create)
