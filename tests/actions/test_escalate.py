"""action_escalate with a real SQLite queue in tmp and a real redis-server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet as RasaSlotSet
from rasa.shared.core.trackers import EventVerbosity
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.escalate import ActionEscalate
from bot.escalation.config import EscalationConfig, load_escalation_config
from bot.handoff.factory import create_handoff_queue
from bot.handoff.model import TicketStatus
from bot.handoff.queue import HandoffQueue
from bot.handoff.sqlite_queue import SQLiteHandoffQueue
from tests.support.trackers import bot, tracker, user

ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILE = ROOT / "escalation.yml"

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


@pytest.fixture(scope="module")
def config() -> EscalationConfig:
    return load_escalation_config(CONFIG_FILE)


def sdk_tracker(
    domain: Domain, *turns: Any, sender: str = "webchat:abc", slot: str | None = None
) -> Tracker:
    t = tracker(domain, *turns, sender=sender)
    if slot is not None:
        t.update(RasaSlotSet("escalation_trigger", slot))
    return Tracker.from_dict(t.current_state(EventVerbosity.ALL))


def angry_conversation(
    domain: Domain, sender: str = "webchat:abc", slot: str | None = None
) -> Tracker:
    return sdk_tracker(
        domain,
        user("where is my order PC-482913", "order_status", metadata={"channel": "webchat"}),
        bot("action_check_order_status", "Your order PC-482913 is on its way."),
        user(
            "It's been three weeks, this is ridiculous. I want to talk to someone",
            "request_human",
            metadata={"channel": "webchat"},
        ),
        sender=sender,
        slot=slot,
    )


def handoff_messages(dispatcher: CollectingDispatcher) -> tuple[list[dict[str, Any]], list[Any]]:
    responses = [m for m in dispatcher.messages if m.get("response")]
    states = [m["custom"]["handoff"] for m in dispatcher.messages if m.get("custom")]
    return responses, states


@pytest.fixture
async def sqlite_queue(tmp_path: Path) -> AsyncIterator[SQLiteHandoffQueue]:
    queue = SQLiteHandoffQueue(str(tmp_path / "handoff.db"))
    await queue.initialize()
    yield queue
    await queue.close()


def action_with(path: Path, config: EscalationConfig) -> ActionEscalate:
    return ActionEscalate(
        queue_factory=lambda: create_handoff_queue({"type": "sqlite", "path": str(path)}),
        config=config,
        clock=lambda: NOW,
    )


async def test_enqueues_ticket_pauses_and_tells_position(
    tmp_path: Path, domain: Domain, config: EscalationConfig, sqlite_queue: HandoffQueue
) -> None:
    action = action_with(tmp_path / "handoff.db", config)
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, angry_conversation(domain, slot="asked_for_human"), {})

    assert {"event": "pause", "timestamp": None} in events
    assert {
        "event": "slot",
        "name": "escalation_trigger",
        "value": None,
        "timestamp": None,
    } in events
    responses, states = handoff_messages(dispatcher)
    assert responses == [{**responses[0], "response": "utter_handoff_queued", "position": 1}]
    assert states == [{"state": "waiting", "position": 1}]

    ticket = await sqlite_queue.open_ticket_for("webchat:abc")
    assert ticket is not None and ticket.status is TicketStatus.QUEUED
    assert ticket.channel == "webchat" and ticket.customer_id == "abc"
    assert ticket.trigger == "asked_for_human"
    assert ticket.priority == 1  # explicit request and negative sentiment are both 1
    assert ticket.created_at == NOW
    assert ticket.intents == ("order_status", "request_human")
    assert ticket.sentiment is not None and ticket.sentiment < 0
    assert "Orders: PC-482913." in ticket.summary
    assert "negative sentiment" in ticket.summary
    assert [t.role for t in ticket.transcript] == ["customer", "bot", "customer"]
    await action.close()


async def test_second_run_returns_existing_position(
    tmp_path: Path, domain: Domain, config: EscalationConfig, sqlite_queue: HandoffQueue
) -> None:
    times = iter([NOW, NOW + 5])
    action = ActionEscalate(
        queue_factory=lambda: create_handoff_queue(
            {"type": "sqlite", "path": str(tmp_path / "handoff.db")}
        ),
        config=config,
        clock=lambda: next(times),
    )
    await action.run(CollectingDispatcher(), angry_conversation(domain, "webchat:first"), {})
    await action.run(CollectingDispatcher(), angry_conversation(domain, "webchat:second"), {})

    again = CollectingDispatcher()
    events = await action.run(again, angry_conversation(domain, "webchat:second"), {})
    responses, states = handoff_messages(again)
    assert responses[0]["position"] == 2
    assert states == [{"state": "waiting", "position": 2}]
    assert {"event": "pause", "timestamp": None} in events
    assert [t.conversation_id for t in await sqlite_queue.list_queued()] == [
        "webchat:first",
        "webchat:second",
    ]
    await action.close()


async def test_claimed_ticket_says_an_agent_has_it(
    tmp_path: Path, domain: Domain, config: EscalationConfig, sqlite_queue: HandoffQueue
) -> None:
    action = action_with(tmp_path / "handoff.db", config)
    await action.run(CollectingDispatcher(), angry_conversation(domain), {})
    ticket = await sqlite_queue.open_ticket_for("webchat:abc")
    assert ticket is not None
    await sqlite_queue.claim(ticket.id, "agent-7", 300)
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, angry_conversation(domain), {})
    responses, states = handoff_messages(dispatcher)
    assert [r["response"] for r in responses] == ["utter_handoff_agent_joined"]
    assert states == [{"state": "agent"}]
    await action.close()


async def test_priority_and_trigger_from_the_conversation_without_slot(
    tmp_path: Path, domain: Domain, config: EscalationConfig, sqlite_queue: HandoffQueue
) -> None:
    action = action_with(tmp_path / "handoff.db", config)
    conversation = sdk_tracker(
        domain,
        user("someone used my card, I did not make this order", "payment_failed"),
        sender="telegram:77",
    )
    await action.run(CollectingDispatcher(), conversation, {})
    ticket = await sqlite_queue.open_ticket_for("telegram:77")
    assert ticket is not None
    assert ticket.trigger == "sensitive_topic:fraud"
    assert ticket.priority == 2
    assert ticket.channel == "telegram"
    await action.close()


async def test_queue_unreachable_tells_customer_and_does_not_pause(
    tmp_path: Path, domain: Domain, config: EscalationConfig, caplog: pytest.LogCaptureFixture
) -> None:
    # A directory where the database file should be: SQLite cannot open it.
    bad = tmp_path / "not-a-file"
    bad.mkdir()
    action = action_with(bad, config)
    dispatcher = CollectingDispatcher()
    with caplog.at_level("ERROR"):
        events = await action.run(dispatcher, angry_conversation(domain), {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_handoff_unavailable"]
    assert all(e["event"] != "pause" for e in events)
    assert "webchat:abc" in caplog.text
    assert "ridiculous" not in caplog.text and "PC-482913" not in caplog.text


async def test_queue_from_endpoints_file(
    tmp_path: Path,
    domain: Domain,
    config: EscalationConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "nested" / "handoff.db"
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        f"action_endpoint:\n  url: http://localhost:5055/webhook\n"
        f"handoff_queue:\n  type: sqlite\n  path: {db}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("BOT_ENDPOINTS", str(endpoints))
    action = ActionEscalate(config=config)
    await action.run(CollectingDispatcher(), angry_conversation(domain), {})
    first_queue = action._queue
    await action.run(CollectingDispatcher(), angry_conversation(domain, "webchat:zzz"), {})
    assert action._queue is first_queue  # created once per process, reused
    await action.close()
    async with SQLiteHandoffQueue(str(db)) as queue:
        assert len(await queue.list_queued()) == 2


async def test_missing_endpoints_key_uses_sqlite_default(
    tmp_path: Path, domain: Domain, config: EscalationConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("action_endpoint:\n  url: http://localhost:5055/webhook\n", "utf-8")
    monkeypatch.setenv("BOT_ENDPOINTS", str(endpoints))
    monkeypatch.chdir(tmp_path)
    action = ActionEscalate(config=config)
    await action.run(CollectingDispatcher(), angry_conversation(domain), {})
    await action.close()
    async with SQLiteHandoffQueue(str(tmp_path / ".cache" / "handoff.db")) as queue:
        assert await queue.open_ticket_for("webchat:abc") is not None


@pytest.mark.integration
async def test_with_real_redis(
    redis_url: str,
    domain: Domain,
    config: EscalationConfig,
) -> None:
    prefix = f"test-esc-{uuid.uuid4().hex[:8]}:"
    settings = {"type": "redis", "url": redis_url, "key_prefix": prefix}
    action = ActionEscalate(
        queue_factory=lambda: create_handoff_queue(settings), config=config, clock=lambda: NOW
    )
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, angry_conversation(domain, "slack:U1"), {})
    again = CollectingDispatcher()
    await action.run(again, angry_conversation(domain, "slack:U1"), {})
    await action.close()

    assert {"event": "pause", "timestamp": None} in events
    assert handoff_messages(dispatcher)[1] == [{"state": "waiting", "position": 1}]
    assert handoff_messages(again)[1] == [{"state": "waiting", "position": 1}]
    async with create_handoff_queue(settings) as queue:
        queued = await queue.list_queued()
        assert [t.conversation_id for t in queued] == ["slack:U1"]
        assert queued[0].channel == "webchat"  # from the message metadata


@pytest.mark.integration
async def test_redis_down_is_unavailable(domain: Domain, config: EscalationConfig) -> None:
    from loopback.ports import free_port

    settings = {"type": "redis", "url": f"redis://127.0.0.1:{free_port()}/0"}
    action = ActionEscalate(queue_factory=lambda: create_handoff_queue(settings), config=config)
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, angry_conversation(domain), {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_handoff_unavailable"]
    assert all(e["event"] != "pause" for e in events)
