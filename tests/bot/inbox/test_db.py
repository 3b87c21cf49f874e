"""InboxDB: reads do not wait for SQLite's write lock; writes still take it up front."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.inbox.auth import UserStore
from bot.inbox.db import InboxDB

# Far below the connections' 30 s busy timeout: a read that queued for the lock shows.
AT_ONCE_SECONDS = 5.0


@pytest.fixture
def db(tmp_path: Path) -> InboxDB:
    return InboxDB(tmp_path / "inbox.db")


@pytest.fixture
def write_locked(db: InboxDB) -> Iterator[sqlite3.Connection]:
    """Another connection holding the write lock (an uncommitted BEGIN IMMEDIATE)."""
    conn = db.connect()
    conn.execute("BEGIN IMMEDIATE")
    yield conn
    conn.execute("ROLLBACK")
    conn.close()


async def test_login_lookup_does_not_wait_for_a_writer(db: InboxDB) -> None:
    store = UserStore(db, bcrypt_rounds=4)
    await store.initialize()
    await store.add_user("alice", "alice-password", "agent")
    writer = db.connect()
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE users SET role='admin' WHERE username='alice'")
    try:
        started = time.monotonic()
        user = await asyncio.wait_for(
            store.authenticate("alice", "alice-password"), AT_ONCE_SECONDS
        )
        assert time.monotonic() - started < AT_ONCE_SECONDS
        assert user is not None and user.role.value == "agent"  # the committed row
        assert [u.username for u in await store.users()] == ["alice"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


async def test_a_read_runs_beside_a_held_write_lock(
    db: InboxDB, write_locked: sqlite3.Connection
) -> None:
    started = time.monotonic()
    one = await asyncio.wait_for(
        db.run(lambda conn: conn.execute("SELECT 1").fetchone()[0], write=False),
        AT_ONCE_SECONDS,
    )
    assert one == 1
    assert time.monotonic() - started < AT_ONCE_SECONDS
