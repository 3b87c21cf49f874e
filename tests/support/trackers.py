"""Rasa conversations built event by event, as Rasa logs them, for trackers in tests.

Shared by the escalation policy's tests and the escalation action's tests.
"""

from __future__ import annotations

import itertools
from typing import Any

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

_ticks = itertools.count(1)


def _ts() -> float:
    """Increasing timestamps, so events keep their order."""
    return 1_700_000_000.0 + next(_ticks)


def user(
    text: str,
    intent: str,
    confidence: float = 0.95,
    *,
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    message_id: str | None = None,
) -> list[Event]:
    """A user turn as Rasa logs it: the user event (after action_listen)."""
    return [
        UserUttered(
            text,
            intent={"name": intent, "confidence": confidence},
            entities=entities or [],
            timestamp=_ts(),
            message_id=message_id,
            metadata=metadata or {},
        )
    ]


def bot(action: str, text: str, metadata: dict[str, Any] | None = None) -> list[Event]:
    """A bot turn: the action, what it said, then listening again."""
    meta = {"utter_action": action} if action.startswith("utter_") else {}
    meta.update(metadata or {})
    return [
        ActionExecuted(action, timestamp=_ts()),
        BotUttered(text, metadata=meta, timestamp=_ts()),
        ActionExecuted("action_listen", timestamp=_ts()),
    ]


def start() -> list[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=_ts()),
        SessionStarted(timestamp=_ts()),
        ActionExecuted("action_listen", timestamp=_ts()),
    ]


def tracker(
    domain: Domain, *turns: list[Event], sender: str = "webchat:abc"
) -> DialogueStateTracker:
    events = [e for turn in (start(), *turns) for e in turn]
    return DialogueStateTracker.from_events(sender, events, slots=domain.slots)
