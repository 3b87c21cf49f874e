"""The recording broker: rows written off the loop, events forwarded, overflow dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.core.brokers.broker import EventBroker

from bot.insights.broker import RecordingEventBroker
from bot.insights.events import flatten
from bot.insights.store import SQLEventStore


class ListBroker(EventBroker):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.closed = False

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    async def close(self) -> None:
        self.closed = True


def _user(i: int) -> dict[str, Any]:
    return {
        "sender_id": f"s{i % 3}",
        "event": "user",
        "timestamp": 100.0 + i,
        "text": "hi",
        "input_channel": "slack",
        "parse_data": {"intent": {"name": "greet", "confidence": 0.75}},
    }


def _rows(store: SQLEventStore) -> list[tuple[Any, ...]]:
    return [r for batch in store.read(0, 1e12) for r in batch]


async def test_records_every_event_and_forwards_it(tmp_path: Path) -> None:
    inner = ListBroker()
    store = SQLEventStore(f"sqlite:///{tmp_path}/sub/events.db")
    broker = RecordingEventBroker(store, inner, batch=4)
    for i in range(10):
        broker.publish(_user(i))
    broker.publish({"event": "user"})  # no sender: forwarded, not stored
    await broker.flush()
    assert len(_rows(store)) == 10
    await broker.close()
    assert len(inner.events) == 11 and inner.closed
    first = _rows(SQLEventStore(f"sqlite:///{tmp_path}/sub/events.db"))[0]
    assert first[1:] == ("s0", "user", 100.0, "greet", "0.75", "slack")


async def test_drops_events_when_the_writer_is_behind(tmp_path: Path) -> None:
    store = SQLEventStore(f"sqlite:///{tmp_path}/events.db")
    broker = RecordingEventBroker(store, max_pending=2)
    with broker._idle:  # the writer cannot report progress while we hold its lock
        for i in range(50):
            broker.publish(_user(i))
    await broker.close()
    assert broker.dropped > 0
    assert len(_rows(store)) == 50 - broker.dropped


def test_flatten_reads_the_indexed_fields() -> None:
    bot = flatten(
        {
            "sender_id": "a",
            "event": "bot",
            "timestamp": 5,
            "metadata": {"utter_action": "utter_kb", "knowledge": {"outcome": "dont_know"}},
        }
    )
    assert bot is not None and (bot.name, bot.value) == ("utter_kb", "dont_know")
    slot = flatten({"sender_id": "a", "event": "slot", "name": "csat_rating", "value": 4})
    assert slot is not None and (slot.name, slot.value) == ("csat_rating", "4")
    assert flatten({"event": "user"}) is None


async def test_user_texts_of_fallback_messages(tmp_path: Path) -> None:
    store = SQLEventStore(f"sqlite:///{tmp_path}/events.db")
    broker = RecordingEventBroker(store)
    fallback = {**_user(1), "text": "gift cards?"}
    fallback["parse_data"] = {"intent": {"name": "nlu_fallback", "confidence": 0.2}}
    for event in (_user(0), fallback, {**fallback, "timestamp": 5000.0}):
        broker.publish(event)
    await broker.close()
    texts = list(store.user_texts(0, 1000, ["nlu_fallback", "out_of_scope"]))
    assert texts == [(101.0, "gift cards?")]


def test_servers_starting_at_once_share_the_schema(tmp_path: Path) -> None:
    import threading

    url = f"sqlite:///{tmp_path}/events.db"
    errors: list[BaseException] = []

    def start() -> None:
        try:
            SQLEventStore(url).close()
        except BaseException as e:  # collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
