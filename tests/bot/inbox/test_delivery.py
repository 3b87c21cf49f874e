"""The delivery worker: once per message, even with two workers, and retries after failures."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.inbox.db import InboxDB
from bot.inbox.delivery import DeliveryWorker
from tests.support.inbox import Inbox, make_ticket


async def test_two_concurrent_workers_deliver_each_message_once_in_order(inbox: Inbox) -> None:
    s = inbox.service
    ticket = await make_ticket(inbox.queue)
    await s.claim(inbox.alice, ticket.id)
    texts = [f"message {i}" for i in range(5)]
    for text in texts:
        await s.reply(inbox.alice, ticket.id, text)
    other = DeliveryWorker(inbox.queue, inbox.db, inbox.deliverer, retry_seconds=0.0)
    for _ in range(3):
        await asyncio.gather(s.delivery.run_once(), other.run_once(), s.delivery.run_once())
    assert [text for _, text, _ in inbox.deliverer.sent] == texts
    assert await inbox.queue.pending_deliveries(ticket.id) == []
    # Running again sends nothing more.
    assert await s.delivery.run_once() + await other.run_once() == 0
    assert len(inbox.deliverer.sent) == 5


async def test_a_failed_send_is_retried_and_later_messages_wait(inbox: Inbox) -> None:
    s = inbox.service
    ticket = await make_ticket(inbox.queue)
    await s.claim(inbox.alice, ticket.id)
    await s.reply(inbox.alice, ticket.id, "first")
    await s.reply(inbox.alice, ticket.id, "second")
    inbox.deliverer.fail = 1
    assert await s.delivery.run_once() == 0
    assert len(await inbox.queue.pending_deliveries(ticket.id)) == 2
    assert await s.delivery.run_once() == 2
    assert [text for _, text, _ in inbox.deliverer.sent] == ["first", "second"]


async def test_a_message_recorded_as_sent_is_not_sent_again(inbox: Inbox) -> None:
    """A worker that died after sending but before marking the ticket does not resend."""
    s = inbox.service
    ticket = await make_ticket(inbox.queue)
    await s.claim(inbox.alice, ticket.id)
    message = await s.reply(inbox.alice, ticket.id, "only once")
    worker = s.delivery
    assert await worker._claim(ticket.id, message.message_id) == "taken"
    await worker._sent(message.message_id)  # sent; crash before mark_delivered
    assert await worker.run_once() == 0
    assert inbox.deliverer.sent == []
    assert await inbox.queue.pending_deliveries(ticket.id) == []


async def test_a_reply_whose_send_failed_at_resolve_is_delivered_after_it(inbox: Inbox) -> None:
    """Resolving flushes the replies; one that could not be sent is retried afterwards."""
    s = inbox.service
    ticket = await make_ticket(inbox.queue)
    await s.claim(inbox.alice, ticket.id)
    await s.reply(inbox.alice, ticket.id, "your parcel left today")
    inbox.deliverer.fail = 1
    await s.resolve(inbox.alice, ticket.id)
    assert inbox.deliverer.sent == []
    assert await inbox.queue.list_open() == []
    assert ticket.id in await s.delivery.ticket_ids()
    assert await s.delivery.run_once() == 1
    assert [text for _, text, _ in inbox.deliverer.sent] == ["your parcel left today"]
    assert ticket.id not in await s.delivery.ticket_ids()


async def test_a_worker_of_another_process_delivers_replies_it_never_saw_queued(
    inbox: Inbox, tmp_path: Path
) -> None:
    """Another inbox process shares the queue but not this inbox's bookkeeping."""
    s = inbox.service
    ticket = await make_ticket(inbox.queue)
    await s.claim(inbox.alice, ticket.id)
    await s.reply(inbox.alice, ticket.id, "hello from alice")
    elsewhere = DeliveryWorker(
        inbox.queue, InboxDB(tmp_path / "other-inbox.db"), inbox.deliverer, retry_seconds=0.0
    )
    await elsewhere.initialize()
    assert await elsewhere.run_once() == 1
    assert [text for _, text, _ in inbox.deliverer.sent] == ["hello from alice"]


async def test_a_ticket_gone_from_the_queue_is_dropped_once_not_retried_forever(
    inbox: Inbox, caplog
) -> None:
    """A reset queue store leaves delivery rows for tickets it no longer has."""
    s = inbox.service
    worker = s.delivery
    # A failed attempt recorded for a ticket the queue has never held.
    assert await worker._claim("t-gone", "m-gone") == "taken"
    assert "t-gone" in await worker.ticket_ids()
    with caplog.at_level("ERROR"):
        assert await worker.run_once() == 0
    assert "no longer exists; 1 unsent agent message(s) dropped" in caplog.text
    assert "t-gone" not in await worker.ticket_ids()
    caplog.clear()
    assert await worker.run_once() == 0
    assert "t-gone" not in caplog.text
