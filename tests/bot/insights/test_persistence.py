"""The embedded profile keeps conversations and the event stream across a restart.

The stores are built from the project's own endpoints.yml (paths moved into a temporary
folder) with Rasa's factories, as ``rasa run`` builds them; "restart" closes everything and
builds it again from the same files.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.handoff.relay import HandoffRelayBroker
from bot.insights.broker import RecordingEventBroker
from bot.insights.store import SQLEventStore

ROOT = Path(__file__).resolve().parents[3]


def _endpoints(tmp: Path) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    assert config["tracker_store"]["type"] == "SQL"
    assert config["tracker_store"]["db"].startswith(".cache/")
    assert config["event_broker"]["url"] == "sqlite:///.cache/events.db"
    config["tracker_store"]["db"] = str(tmp / "trackers.db")
    config["event_broker"]["url"] = f"sqlite:///{tmp}/events.db"
    config["handoff_queue"] = {"type": "sqlite", "path": str(tmp / "handoff.db")}
    return config


async def _start(config: dict[str, Any], domain: Domain) -> tuple[TrackerStore, EventBroker]:
    broker = await EventBroker.create(EndpointConfig.from_dict(config["event_broker"]))
    assert isinstance(broker, RecordingEventBroker)
    assert isinstance(broker.forward_to, HandoffRelayBroker)
    store = TrackerStore.create(EndpointConfig.from_dict(config["tracker_store"]), domain, broker)
    return store, broker


async def test_conversations_and_events_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _endpoints(tmp_path)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("BOT_ENDPOINTS", str(endpoints))
    domain = Domain.from_yaml("intents: [order_status]\nresponses: {utter_ok: [{text: ok}]}")

    store, broker = await _start(config, domain)
    now = time.time()
    tracker = DialogueStateTracker.from_events(
        "web:persist",
        [
            ActionExecuted("action_session_start", timestamp=now),
            SessionStarted(timestamp=now),
            UserUttered(
                "where is my order",
                {"name": "order_status", "confidence": 0.9},
                timestamp=now + 1,
                input_channel="webchat",
            ),
            BotUttered("ok", metadata={"utter_action": "utter_ok"}, timestamp=now + 2),
        ],
    )
    await store.save(tracker)
    await broker.close()

    store, broker = await _start(config, domain)  # the restart
    restored = await store.retrieve("web:persist")
    assert restored is not None
    assert restored.latest_message is not None
    assert restored.latest_message.text == "where is my order"
    assert restored.latest_message.intent["name"] == "order_status"
    await broker.close()

    rows = [
        r for batch in SQLEventStore(config["event_broker"]["url"]).read(0, now + 60) for r in batch
    ]
    kinds = [(r[1], r[2], r[4]) for r in rows]
    assert ("web:persist", "user", "order_status") in kinds
    assert ("web:persist", "bot", "utter_ok") in kinds
    assert any(r[6] == "webchat" for r in rows)
