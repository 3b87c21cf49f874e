"""One tracker event as the flat row the event store keeps beside the event's JSON.

The columns are the few things the insights queries filter and group on, so the metrics
run as plain SQL on any database (SQLite, PostgreSQL) without JSON functions:

========== ==================================================================================
column     meaning
========== ==================================================================================
sender_id  Rasa's conversation id
type_name  Rasa's event name (``user``, ``bot``, ``action``, ``slot``, ``session_started``...)
timestamp  Unix time of the event
name       ``user``: the intent; ``bot``: the response name (``utter_action``);
           ``action``: the action; ``slot``: the slot; ``active_loop``: the form
value      ``user``: the confidence; ``bot``: the knowledge answer's outcome
           (``metadata.knowledge.outcome``); ``slot``: the value as JSON
channel    ``user``: the input channel
========== ==================================================================================
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.knowledge.outcome import knowledge_outcome

FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")
"""Intents that mean the bot did not understand the message."""

RATING_SLOT = "csat_rating"
COMMENT_SLOT = "csat_comment"
TRIGGER_SLOT = "escalation_trigger"


@dataclass(frozen=True)
class EventRow:
    """The stored form of one tracker event (see the module docstring)."""

    sender_id: str
    type_name: str
    timestamp: float
    name: str | None
    value: str | None
    channel: str | None
    data: str


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def flatten(event: Mapping[str, Any]) -> EventRow | None:
    """The row of one event Rasa streams to an event broker.

    Args:
        event: ``Event.as_dict()`` plus ``sender_id``.

    Returns:
        The row, or ``None`` for an event without a sender or a type.
    """
    sender = event.get("sender_id")
    kind = event.get("event")
    if not isinstance(sender, str) or not sender or not isinstance(kind, str):
        return None
    name: object = None
    value: object = None
    channel: object = None
    if kind == "user":
        intent = (event.get("parse_data") or {}).get("intent") or {}
        name = intent.get("name")
        value = intent.get("confidence")
        metadata = event.get("metadata") or {}
        channel = event.get("input_channel") or metadata.get("channel")
    elif kind == "bot":
        metadata = event.get("metadata") or {}
        name = metadata.get("utter_action")
        value = knowledge_outcome(metadata)
    elif kind in ("action", "slot", "active_loop"):
        name = event.get("name")
        if kind == "slot":
            value = json.dumps(event.get("value"))
    timestamp = event.get("timestamp")
    return EventRow(
        sender_id=sender,
        type_name=kind,
        timestamp=float(timestamp) if isinstance(timestamp, int | float) else time.time(),
        name=_text(name),
        value=_text(value),
        channel=_text(channel),
        data=json.dumps(dict(event), separators=(",", ":"), default=str),
    )
