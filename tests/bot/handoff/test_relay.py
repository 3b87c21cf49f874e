"""HandoffRelayBroker: customer messages of handed-off conversations reach the ticket."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.handoff.model import MessageAuthor, Ticket
from bot.handoff.relay import HandoffRelayBroker
from bot.handoff.sqlite_queue import SQLiteHandoffQueue

ROOT = Path(__file__).resolve().parents[3]
SENDER = "webchat:abc"


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[SQLiteHandoffQueue]:
    q = SQLiteHandoffQueue(str(tmp_path / "handoff.db"))
    await q.initialize()
    yield q
    await q.close()


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[HandoffRelayBroker]:
    b = HandoffRelayBroker(SQLiteHandoffQueue(str(tmp_path / "handoff.db")))
    await b.initialize()
    yield b
    await b.close()


async def open_ticket(queue: SQLiteHandoffQueue, sender: str = SENDER) -> Ticket:
    return await queue.enqueue(Ticket.new(sender, "webchat", "abc", created_at=time.time()))


def user_event(text: str, message_id: str, sender: str = SENDER, **extra: Any) -> dict[str, Any]:
    event = UserUttered(text, intent={"name": "inform", "confidence": 0.9}, message_id=message_id)
    return {"sender_id": sender, **event.as_dict(), **extra}


async def test_rasa_loads_the_broker_from_endpoint_config(tmp_path: Path) -> None:
    config = EndpointConfig(
        type="bot.handoff.relay.HandoffRelayBroker",
        handoff_queue={"type": "sqlite", "path": str(tmp_path / "sub" / "q.db")},
        no_ticket_cache_seconds=0.5,
    )
    broker = await EventBroker.create(config)
    assert isinstance(broker, HandoffRelayBroker)
    assert broker.is_ready()
    await broker.close()
    assert not broker.is_ready()
    assert (tmp_path / "sub" / "q.db").exists()


async def test_falls_back_to_the_endpoints_file_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "from-endpoints.db"
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"handoff_queue:\n  type: sqlite\n  path: {db}\n", encoding="utf-8")
    monkeypatch.setenv("BOT_ENDPOINTS", str(endpoints))
    broker = await EventBroker.create(EndpointConfig(type="bot.handoff.relay.HandoffRelayBroker"))
    assert isinstance(broker, HandoffRelayBroker)
    await broker.close()
    assert db.exists()


async def test_messages_after_handoff_are_appended_once(
    broker: HandoffRelayBroker, queue: SQLiteHandoffQueue
) -> None:
    ticket = await open_ticket(queue)
    broker.publish(user_event("are you there?", "m1"))
    broker.publish(user_event("are you there?", "m1"))  # replayed event
    broker.publish(user_event("my order is PC-482913", "m2"))
    await broker.flush()
    stored = await queue.get(ticket.id)
    assert [(m.message_id, m.author, m.text) for m in stored.messages] == [
        ("m1", MessageAuthor.CUSTOMER, "are you there?"),
        ("m2", MessageAuthor.CUSTOMER, "my order is PC-482913"),
    ]


async def test_only_user_events_of_conversations_with_an_open_ticket(
    broker: HandoffRelayBroker, queue: SQLiteHandoffQueue
) -> None:
    ticket = await open_ticket(queue)
    broker.publish(user_event("hello", "other-1", sender="webchat:someone-else"))
    broker.publish({"sender_id": SENDER, "event": "bot", "text": "hi", "timestamp": time.time()})
    broker.publish({"sender_id": SENDER, **ActionExecuted("action_listen").as_dict()})
    await broker.flush()
    assert (await queue.get(ticket.id)).messages == ()
    assert await queue.open_ticket_for("webchat:someone-else") is None


async def test_message_that_caused_the_handoff_is_not_repeated(
    broker: HandoffRelayBroker, queue: SQLiteHandoffQueue
) -> None:
    before = user_event("I want a person", "m0", timestamp=time.time() - 5)
    ticket = await open_ticket(queue)
    broker.publish(before)
    await broker.flush()
    assert (await queue.get(ticket.id)).messages == ()


async def test_pause_event_clears_the_no_ticket_cache(
    tmp_path: Path, queue: SQLiteHandoffQueue
) -> None:
    clock = ManualClock()
    broker = HandoffRelayBroker(
        SQLiteHandoffQueue(str(tmp_path / "handoff.db")), no_ticket_cache_seconds=60, clock=clock
    )
    await broker.initialize()
    broker.publish(user_event("hi", "a1"))
    await broker.flush()  # no ticket: cached for 60s

    ticket = await open_ticket(queue)
    broker.publish(user_event("anyone?", "a2"))
    await broker.flush()
    assert (await queue.get(ticket.id)).messages == ()  # still believed to have no ticket

    broker.publish({"sender_id": SENDER, **ConversationPaused().as_dict()})
    broker.publish(user_event("hello agent", "a3"))
    await broker.flush()
    assert [m.message_id for m in (await queue.get(ticket.id)).messages] == ["a3"]

    clock.now += 61
    other = await open_ticket(queue, "webchat:late")
    broker.publish(user_event("x", "b1", sender="webchat:late"))
    await broker.flush()
    assert [m.message_id for m in (await queue.get(other.id)).messages] == ["b1"]
    await broker.close()


async def test_through_a_rasa_tracker_store(
    broker: HandoffRelayBroker, queue: SQLiteHandoffQueue
) -> None:
    domain = Domain.load(str(ROOT / "domain"))
    store = InMemoryTrackerStore(domain, event_broker=broker)
    tracker = DialogueStateTracker.from_events(
        SENDER,
        [
            ActionExecuted("action_listen"),
            UserUttered("I want a person", {"name": "request_human"}, message_id="u1"),
        ],
    )
    await store.save(tracker)
    await broker.flush()
    ticket = await open_ticket(queue)
    tracker.update(ConversationPaused())
    tracker.update(UserUttered("hello, anyone?", {"name": "greet"}, message_id="u2"))
    await store.save(tracker)
    await broker.flush()
    stored = await queue.get(ticket.id)
    assert [(m.message_id, m.text) for m in stored.messages] == [("u2", "hello, anyone?")]


async def test_queue_errors_are_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = HandoffRelayBroker(SQLiteHandoffQueue(str(tmp_path / "handoff.db")))
    await broker.initialize()
    await broker.queue.close()  # the store goes away under the broker
    with caplog.at_level("ERROR"):
        broker.publish(user_event("secret text", "e1"))
        await broker.flush()
    assert "queue unavailable for sender webchat:abc" in caplog.text
    assert "secret text" not in caplog.text
    await broker.close()


def test_publish_without_a_running_loop_drops_quietly(tmp_path: Path) -> None:
    broker = HandoffRelayBroker(SQLiteHandoffQueue(str(tmp_path / "handoff.db")))
    broker.publish(user_event("hi", "n1"))  # must not raise
    assert not broker.is_ready()


@pytest.mark.integration
@pytest.mark.slow
def test_handoff_end_to_end_through_rasa(sample_bot_model: Path, tmp_path: Path) -> None:
    """Real `rasa run` + `rasa run actions`: a sensitive message escalates, pauses, relays."""
    import asyncio

    import requests

    from loopback.rasa_server import running_bot

    db = tmp_path / "handoff.db"
    queue_yaml = f"  type: sqlite\n  path: {db}\n"
    endpoints_extra = (
        f"handoff_queue:\n{queue_yaml}event_broker:\n  type: bot.handoff.relay.HandoffRelayBroker\n"
    )
    env = {"BOT_ENDPOINTS": str(tmp_path / "endpoints.yml"), "RASA_TELEMETRY_ENABLED": "false"}
    sender = "webchat:e2e"
    with running_bot(
        sample_bot_model, tmp_path, endpoints_extra=endpoints_extra, env_extra=env
    ) as b:
        hook = f"{b.url}/webhooks/rest/webhook"
        first = requests.post(
            hook, json={"sender": sender, "message": "I'm going to sue you over this"}, timeout=60
        ).json()
        tracker = requests.get(f"{b.url}/conversations/{sender}/tracker", timeout=30).json()
        later = requests.post(
            hook, json={"sender": sender, "message": "hello, is anyone there?"}, timeout=60
        ).json()
        deadline = time.monotonic() + 20
        ticket: Ticket | None = None
        while time.monotonic() < deadline:
            ticket = asyncio.run(_open_ticket_with_messages(db, sender))
            if ticket is not None and ticket.messages:
                break
            time.sleep(0.5)

    assert any("queue" in m.get("text", "") or "in line" in m.get("text", "") for m in first)
    assert {"handoff": {"state": "waiting", "position": 1}} in [m.get("custom") for m in first]
    assert tracker["paused"] is True
    assert "action_escalate" in [e.get("name") for e in tracker["events"]]
    slot_values = [e["value"] for e in tracker["events"] if e.get("name") == "escalation_trigger"]
    assert slot_values == ["sensitive_topic:legal_threat", None]
    assert later == []  # paused: the bot stays quiet
    assert ticket is not None
    assert ticket.trigger == "sensitive_topic:legal_threat"
    assert ticket.priority == 2
    assert [t.text for t in ticket.transcript if t.role == "customer"] == [
        "I'm going to sue you over this"
    ]
    assert [(m.author, m.text) for m in ticket.messages] == [
        (MessageAuthor.CUSTOMER, "hello, is anyone there?")
    ]


async def _open_ticket_with_messages(db: Path, sender: str) -> Ticket | None:
    async with SQLiteHandoffQueue(str(db)) as queue:
        return await queue.open_ticket_for(sender)


class NoTicketQueue:
    """A queue where no conversation has a ticket; counts the lookups."""

    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def initialize(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def open_ticket_for(self, sender_id: str) -> Ticket | None:
        self.lookups.append(sender_id)
        return None


async def test_per_sender_state_stays_bounded_and_keeps_recent_senders() -> None:
    clock = ManualClock()
    queue = NoTicketQueue()
    broker = HandoffRelayBroker(
        queue,  # type: ignore[arg-type]
        no_ticket_cache_seconds=60,
        clock=clock,
        max_senders=50,
    )
    await broker.initialize()
    for i in range(500):
        broker.publish({"sender_id": f"webchat:paused-{i}", **ConversationPaused().as_dict()})
        broker.publish(user_event("hi", f"m{i}", sender=f"webchat:s{i}"))
        await broker.flush()
    assert len(broker._no_ticket_until) <= 50
    assert len(broker._generation) <= 50
    assert "webchat:paused-499" in broker._generation

    # The latest sender's "no ticket" is still believed: no second lookup.
    lookups = len(queue.lookups)
    broker.publish(user_event("again", "m-again", sender="webchat:s499"))
    await broker.flush()
    assert len(queue.lookups) == lookups
    # The oldest one was forgotten: it is looked up again.
    broker.publish(user_event("again", "m-old", sender="webchat:s0"))
    await broker.flush()
    assert queue.lookups[-1] == "webchat:s0"

    # Expired entries go as new ones come.
    clock.now += 61
    broker.publish(user_event("later", "m-late", sender="webchat:late"))
    await broker.flush()
    assert list(broker._no_ticket_until) == ["webchat:late"]
    await broker.close()
