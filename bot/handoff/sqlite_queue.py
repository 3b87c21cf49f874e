"""The embedded handoff queue: one SQLite file (or ``:memory:``), WAL mode.

The file's folder is created when the queue is opened. All sqlite3 calls run on one
dedicated worker thread that owns the connection, so the event
loop never blocks and the connection is never shared across threads. Read-modify-write
operations run in ``BEGIN IMMEDIATE`` transactions, which also makes them safe when several
processes share the file. A partial unique index keeps one open ticket per conversation.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bot.handoff.errors import DuplicateTicketError, HandoffStoreError, TicketNotFoundError
from bot.handoff.model import Ticket, TicketStatus
from bot.handoff.queue import Clock, StoreHandoffQueue
from bot.handoff.sla import SLAHook

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS handoff_tickets (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        status TEXT NOT NULL,
        priority INTEGER NOT NULL,
        created_at REAL NOT NULL,
        lease_expiry REAL,
        doc TEXT NOT NULL
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS handoff_tickets_queue
        ON handoff_tickets (status, priority DESC, created_at, id)
    """,
    """
    CREATE INDEX IF NOT EXISTS handoff_tickets_created ON handoff_tickets (created_at)
    """,
    """
    CREATE UNIQUE INDEX IF NOT EXISTS handoff_tickets_open_conversation
        ON handoff_tickets (conversation_id) WHERE status != 'resolved'
    """,
)

_QUEUE_ORDER = "ORDER BY priority DESC, created_at ASC, id ASC"


class SQLiteHandoffQueue(StoreHandoffQueue):
    """Handoff queue stored in SQLite.

    Args:
        path: Database file (its folder is created on open), or ``:memory:`` (lost on
            close; for tests).
        clock: Returns the current Unix time.
        claim_sla_seconds: Claim SLA; ``None`` disables it.
        reply_sla_seconds: First-reply SLA; ``None`` disables it.
        sla_hook: Awaited once per ticket and breach kind.
        busy_timeout_ms: How long to wait for another process's write lock.
    """

    def __init__(
        self,
        path: str = ":memory:",
        *,
        clock: Clock | None = None,
        claim_sla_seconds: float | None = None,
        reply_sla_seconds: float | None = None,
        sla_hook: SLAHook | None = None,
        busy_timeout_ms: int = 5000,
    ) -> None:
        super().__init__(
            clock=clock,
            claim_sla_seconds=claim_sla_seconds,
            reply_sla_seconds=reply_sla_seconds,
            sla_hook=sla_hook,
        )
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def initialize(self) -> None:
        """Open the database on the worker thread and create the schema."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="handoff-sqlite")
        try:
            await self._run(self._open)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        logger.debug("SQLite handoff queue opened.")

    async def close(self) -> None:
        """Close the connection and stop the worker thread."""
        executor = self._executor
        if executor is None:
            return
        try:
            await self._run(self._close_connection)
        finally:
            self._executor = None
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)

    def _open(self) -> None:
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise HandoffStoreError(
                    f"Cannot create the SQLite handoff queue's folder ({e.strerror})."
                ) from e
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
            for statement in _SCHEMA:
                conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._executor is None:
            raise HandoffStoreError("The SQLite handoff queue is not initialized.")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as e:
            raise HandoffStoreError(f"SQLite handoff queue failed: {type(e).__name__}.") from e

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HandoffStoreError("The SQLite handoff queue is not initialized.")
        return self._conn

    # -- primitives (each runs on the worker thread) -------------------------------------

    @staticmethod
    def _row(ticket: Ticket) -> tuple[Any, ...]:
        return (
            ticket.conversation_id,
            ticket.status.value,
            ticket.priority,
            ticket.created_at,
            ticket.lease_expiry,
            ticket.to_json(),
            ticket.id,
        )

    def _insert_sync(self, ticket: Ticket) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM handoff_tickets WHERE id = ?", (ticket.id,)).fetchone():
                raise DuplicateTicketError(ticket.id, "a ticket with this id exists")
            try:
                db.execute(
                    "INSERT INTO handoff_tickets (conversation_id, status, priority, created_at,"
                    " lease_expiry, doc, id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    self._row(ticket),
                )
            except sqlite3.IntegrityError as e:
                raise DuplicateTicketError(
                    ticket.id, "the conversation already has an open ticket"
                ) from e
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _load_sync(self, ticket_id: str) -> Ticket | None:
        row = self._db.execute(
            "SELECT doc FROM handoff_tickets WHERE id = ?", (ticket_id,)
        ).fetchone()
        return None if row is None else Ticket.from_json(row[0])

    def _mutate_sync(self, ticket_id: str, change: Callable[[Ticket], Ticket]) -> Ticket:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT doc FROM handoff_tickets WHERE id = ?", (ticket_id,)
            ).fetchone()
            if row is None:
                raise TicketNotFoundError(ticket_id)
            old = Ticket.from_json(row[0])
            new = change(old)
            if new is not old:
                try:
                    db.execute(
                        "UPDATE handoff_tickets SET conversation_id = ?, status = ?, priority = ?,"
                        " created_at = ?, lease_expiry = ?, doc = ? WHERE id = ?",
                        self._row(new),
                    )
                except sqlite3.IntegrityError as e:
                    raise DuplicateTicketError(
                        ticket_id, "the conversation already has an open ticket"
                    ) from e
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return new

    def _select_docs(self, where: str, params: tuple[Any, ...] = ()) -> list[Ticket]:
        rows = self._db.execute(f"SELECT doc FROM handoff_tickets WHERE {where}", params)
        return [Ticket.from_json(doc) for (doc,) in rows.fetchall()]

    def _rank_sync(self, ticket_id: str) -> int | None:
        db = self._db
        row = db.execute(
            "SELECT priority, created_at FROM handoff_tickets WHERE id = ? AND status = ?",
            (ticket_id, TicketStatus.QUEUED.value),
        ).fetchone()
        if row is None:
            return None
        priority, created_at = row
        (ahead,) = db.execute(
            "SELECT COUNT(*) FROM handoff_tickets WHERE status = ? AND (priority > ?"
            " OR (priority = ? AND (created_at < ? OR (created_at = ? AND id < ?))))",
            (TicketStatus.QUEUED.value, priority, priority, created_at, created_at, ticket_id),
        ).fetchone()
        return int(ahead)

    def _open_ticket_id_sync(self, conversation_id: str) -> str | None:
        row = self._db.execute(
            "SELECT id FROM handoff_tickets WHERE conversation_id = ? AND status != ?",
            (conversation_id, TicketStatus.RESOLVED.value),
        ).fetchone()
        return None if row is None else str(row[0])

    def _expired_sync(self, now: float) -> list[str]:
        rows = self._db.execute(
            "SELECT id FROM handoff_tickets WHERE status = ? AND lease_expiry <= ?",
            (TicketStatus.CLAIMED.value, now),
        ).fetchall()
        return [str(ticket_id) for (ticket_id,) in rows]

    # -- async primitives ----------------------------------------------------------------

    async def _insert(self, ticket: Ticket) -> None:
        await self._run(self._insert_sync, ticket)

    async def _load(self, ticket_id: str) -> Ticket | None:
        return await self._run(self._load_sync, ticket_id)

    async def _mutate(self, ticket_id: str, change: Callable[[Ticket], Ticket]) -> Ticket:
        return await self._run(self._mutate_sync, ticket_id, change)

    async def _queued(self) -> list[Ticket]:
        return await self._run(
            self._select_docs, f"status = ? {_QUEUE_ORDER}", (TicketStatus.QUEUED.value,)
        )

    async def _rank(self, ticket_id: str) -> int | None:
        return await self._run(self._rank_sync, ticket_id)

    async def _open_ticket_id(self, conversation_id: str) -> str | None:
        return await self._run(self._open_ticket_id_sync, conversation_id)

    async def _expired_lease_ids(self, now: float) -> list[str]:
        return await self._run(self._expired_sync, now)

    async def _created_between(self, since: float, until: float) -> list[Ticket]:
        return await self._run(
            self._select_docs,
            "created_at >= ? AND created_at < ? ORDER BY created_at, id",
            (since, until),
        )

    async def _open_tickets(self) -> list[Ticket]:
        return await self._run(
            self._select_docs, f"status != ? {_QUEUE_ORDER}", (TicketStatus.RESOLVED.value,)
        )
