"""The SQLite backend keeps everything in its file across close and reopen."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.handoff import (
    HandoffMessage,
    HandoffStoreError,
    MessageAuthor,
    Ticket,
    TicketStatus,
    Turn,
)
from bot.handoff.sqlite_queue import SQLiteHandoffQueue
from common.conversation import from_unix

from .conftest import START, FakeClock


def _ticket(conversation_id: str = "conv-1") -> Ticket:
    return Ticket.new(
        conversation_id,
        "telegram",
        "cust-9",
        START,
        priority=1,
        trigger="negative_sentiment",
        summary="Angry about a late order",
        intents=("order_status",),
        sentiment=-0.9,
        transcript=(Turn("customer", "where is my order??", from_unix(START - 5)),),
    )


async def test_everything_survives_close_and_reopen(tmp_path: Path, clock: FakeClock) -> None:
    path = str(tmp_path / "queue.sqlite3")
    async with SQLiteHandoffQueue(path, clock=clock) as queue:
        ticket = await queue.enqueue(_ticket())
        other = await queue.enqueue(_ticket("conv-2"))
        await queue.claim(ticket.id, "alice", 120)
        await queue.append_message(
            ticket.id, HandoffMessage("m1", MessageAuthor.AGENT, "Hello!", START, agent="alice")
        )
        before = await queue.get(ticket.id)

    async with SQLiteHandoffQueue(path, clock=clock) as reopened:
        after = await reopened.get(ticket.id)
        assert after == before
        assert after.status is TicketStatus.CLAIMED
        assert after.assigned_agent == "alice"
        assert [m.message_id for m in after.messages] == ["m1"]
        assert after.first_agent_reply_at == START
        assert [t.id for t in await reopened.list_queued()] == [other.id]
        assert (await reopened.open_ticket_for("conv-1")) == after
        assert [m.message_id for m in await reopened.pending_deliveries(ticket.id)] == ["m1"]


async def test_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    async with SQLiteHandoffQueue(str(path)):
        pass
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_memory_database_is_private_to_the_object(clock: FakeClock) -> None:
    async with SQLiteHandoffQueue(":memory:", clock=clock) as first:
        await first.enqueue(_ticket())
        async with SQLiteHandoffQueue(":memory:", clock=clock) as second:
            assert await second.list_queued() == []
        assert len(await first.list_queued()) == 1


async def test_two_objects_on_one_file_see_each_other(tmp_path: Path, clock: FakeClock) -> None:
    path = str(tmp_path / "queue.sqlite3")
    async with (
        SQLiteHandoffQueue(path, clock=clock) as one,
        SQLiteHandoffQueue(path, clock=clock) as two,
    ):
        ticket = await one.enqueue(_ticket())
        await two.claim(ticket.id, "bob", 60)
        assert (await one.get(ticket.id)).assigned_agent == "bob"


async def test_sqlite_runs_off_the_event_loop(clock: FakeClock) -> None:
    async with SQLiteHandoffQueue(clock=clock) as queue:
        ticket = await queue.enqueue(_ticket())
        threads: list[str] = []

        def change(t: Ticket) -> Ticket:
            threads.append(threading.current_thread().name)
            return t

        await queue._mutate(ticket.id, change)
        assert threads and threads[0].startswith("handoff-sqlite")
        assert threads[0] != threading.current_thread().name


async def test_use_before_initialize_fails_clearly() -> None:
    queue = SQLiteHandoffQueue()
    with pytest.raises(HandoffStoreError):
        await queue.list_queued()
    await queue.close()  # closing an unopened queue is fine


async def test_close_and_initialize_again(tmp_path: Path, clock: FakeClock) -> None:
    queue = SQLiteHandoffQueue(str(tmp_path / "q.sqlite3"), clock=clock)
    await queue.initialize()
    ticket = await queue.enqueue(_ticket())
    await queue.close()
    await queue.initialize()
    assert (await queue.get(ticket.id)).id == ticket.id
    await queue.close()


async def test_opening_creates_the_files_folder(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "nested" / "deeper" / "queue.db"
    async with SQLiteHandoffQueue(str(path), clock=clock) as queue:
        await queue.enqueue(_ticket())
    assert path.is_file()


async def test_a_folder_that_cannot_be_made_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    queue = SQLiteHandoffQueue(str(blocker / "queue.db"))
    with pytest.raises(HandoffStoreError) as info:
        await queue.initialize()
    assert info.value.status_code == 503
