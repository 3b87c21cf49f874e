"""Resuming a conversation: ConversationResumed under the lock, the bot's closing words, state."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.core.channels.channel import OutputChannel
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.inbox.resume import RasaResumer, ResumeError

DOMAIN = Domain.from_yaml(
    """
intents: [handoff_resolved, greet]
responses:
  utter_back_to_bot:
    - text: "You're back with the bot."
"""
)


class FakeProcessor:
    """Answers a triggered intent like the handoff rule does."""

    def __init__(self, agent: FakeAgent) -> None:
        self.agent = agent
        self.locked_during_trigger: bool | None = None

    async def get_tracker(self, sender_id: str) -> DialogueStateTracker:
        return await self.agent.tracker_store.get_or_create_tracker(sender_id)

    async def trigger_external_user_uttered(
        self, intent: str, entities: Any, tracker: DialogueStateTracker, output: OutputChannel
    ) -> None:
        self.locked_during_trigger = self.agent.lock_store.get_lock(tracker.sender_id) is not None
        tracker.update(UserUttered.create_external(intent, []), DOMAIN)
        assert not tracker.is_paused()
        tracker.update(ActionExecuted("utter_back_to_bot"))
        await output.send_text_message(tracker.sender_id, "You're back with the bot.")
        await self.agent.tracker_store.save(tracker)


class FakeAgent:
    def __init__(self, ready: bool = True) -> None:
        self.domain = DOMAIN
        self.lock_store = InMemoryLockStore()
        self.tracker_store = InMemoryTrackerStore(DOMAIN)
        self.processor = FakeProcessor(self)
        self.ready = ready

    def is_ready(self) -> bool:
        return self.ready


class Outbound:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    async def notify_state(self, sender_id: str, state: str) -> None:
        self.calls.append(("state", sender_id, state))

    async def deliver(self, sender_id: str, text: str, *, author: str = "agent") -> str:
        self.calls.append((author, sender_id, text))
        return "web"


async def test_resume_unpauses_triggers_the_closing_and_tells_the_client() -> None:
    agent = FakeAgent()
    tracker = await agent.tracker_store.get_or_create_tracker("web:abc")
    tracker.update(ActionExecuted("action_escalate"))
    tracker.update(ConversationPaused())
    await agent.tracker_store.save(tracker)
    outbound = Outbound()

    await RasaResumer(agent, outbound).resume("web:abc")

    saved = await agent.tracker_store.retrieve("web:abc")
    assert saved is not None and not saved.is_paused()
    kinds = [(e.type_name, getattr(e, "action_name", None)) for e in saved.events]
    assert kinds[-6:] == [
        ("action", "action_escalate"),
        ("pause", None),
        ("resume", None),
        ("action", "action_listen"),  # the pausing action never listened
        ("user", None),
        ("action", "utter_back_to_bot"),
    ]
    assert agent.processor.locked_during_trigger is True
    assert agent.lock_store.get_lock("web:abc") is None  # released
    assert outbound.calls == [
        ("state", "web:abc", "bot"),
        ("bot", "web:abc", "You're back with the bot."),
    ]


async def test_resume_without_a_model_fails_cleanly() -> None:
    with pytest.raises(ResumeError):
        await RasaResumer(FakeAgent(ready=False), Outbound()).resume("web:abc")
