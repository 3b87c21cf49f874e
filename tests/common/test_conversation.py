"""The shared conversation model: roles, turns, their JSON form and legacy handoff data."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.handoff.model import Ticket
from bot.handoff.sqlite_queue import SQLiteHandoffQueue
from bot.inbox.service import ticket_view
from common.conversation import (
    ROLE_ALIASES,
    Role,
    Turn,
    UnknownRoleError,
    from_unix,
    parse_role,
)
from common.errors import BotError

# A queued ticket exactly as the SQLite and Redis queues persisted it before the shared
# model, when the handoff transcript called the customer "user".
LEGACY_TICKET = (
    '{"id":"legacy-1","conversation_id":"web:legacy","channel":"web","customer_id":"cust-1",'
    '"created_at":1700000000.0,"status":"queued","priority":0,"trigger":"asked_for_human",'
    '"summary":"","intents":["order_status"],"sentiment":null,"transcript":['
    '{"role":"user","text":"where is my order?","timestamp":1699999990.5},'
    '{"role":"bot","text":"Let me get a person.","timestamp":1699999991.25}],'
    '"assigned_agent":null,"lease_expiry":null,"messages":[],"claimed_at":null,'
    '"first_agent_reply_at":null,"resolved_at":null,"sla_alerts":[],'
    '"events":[{"kind":"enqueued","at":1700000000.0,"actor":null,"detail":null}]}'
)


def test_role_words_become_roles_that_still_compare_as_text() -> None:
    turn = Turn("customer", "hi")
    assert turn.role is Role.CUSTOMER
    assert turn.role == "customer" and str(turn.role) == "customer"
    assert json.dumps({"role": turn.role}) == '{"role": "customer"}'
    assert [parse_role(word) for word in ("customer", "agent", "bot")] == list(Role)


@pytest.mark.parametrize("role", ["user", "assistant", "Customer", "", None, 3])
def test_unknown_roles_are_rejected_when_building(role: object) -> None:
    with pytest.raises(UnknownRoleError) as caught:
        Turn(role, "hi")  # type: ignore[arg-type]
    assert isinstance(caught.value, BotError)
    assert caught.value.role == role


def test_aliases_are_read_only_from_persisted_data() -> None:
    assert ROLE_ALIASES == {"user": Role.CUSTOMER}
    assert parse_role("user", aliases=True) is Role.CUSTOMER
    with pytest.raises(UnknownRoleError):
        parse_role("user")
    turn = Turn.from_dict({"role": "user", "text": "where is my order?", "timestamp": 5.5})
    assert turn == Turn(Role.CUSTOMER, "where is my order?", from_unix(5.5))
    with pytest.raises(UnknownRoleError):
        Turn.from_dict({"role": "robot", "text": "hi", "timestamp": None})


def test_timestamps_are_datetimes_and_unix_seconds_in_json() -> None:
    with pytest.raises(TypeError, match="from_unix"):
        Turn(Role.BOT, "hello", 1700000000.0)  # type: ignore[arg-type]
    sent = datetime(2024, 5, 2, 8, tzinfo=timezone(timedelta(hours=2)))
    turn = Turn(Role.AGENT, "It ships tomorrow.", sent, "order_status")
    data = turn.to_dict()
    assert data == {
        "role": "agent",
        "text": "It ships tomorrow.",
        "timestamp": sent.timestamp(),
        "intent": "order_status",
    }
    assert Turn.from_dict(data) == turn  # same instant; the offset is not stored
    assert Turn(Role.BOT, "hi").to_dict() == {"role": "bot", "text": "hi", "timestamp": None}
    assert from_unix(1700000000.25) == datetime(2023, 11, 14, 22, 13, 20, 250000, timezone.utc)


async def test_a_legacy_ticket_with_user_turns_loads_from_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "handoff.sqlite3"
    async with SQLiteHandoffQueue(str(path)):
        pass  # creates the schema
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO handoff_tickets (id, conversation_id, status, priority, created_at,"
            " lease_expiry, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("legacy-1", "web:legacy", "queued", 0, 1700000000.0, None, LEGACY_TICKET),
        )

    async with SQLiteHandoffQueue(str(path), clock=lambda: 1700000010.0) as queue:
        ticket = await queue.get("legacy-1")
        assert [(t.role, t.text) for t in ticket.transcript] == [
            (Role.CUSTOMER, "where is my order?"),
            (Role.BOT, "Let me get a person."),
        ]
        assert [t.timestamp for t in ticket.transcript] == [
            from_unix(1699999990.5),
            from_unix(1699999991.25),
        ]
        assert [t.id for t in await queue.list_queued()] == ["legacy-1"]

    view = ticket_view(ticket, 1700000010.0)
    assert view["transcript"] == [
        {"role": "customer", "text": "where is my order?", "at": 1699999990.5},
        {"role": "bot", "text": "Let me get a person.", "at": 1699999991.25},
    ]
    # Written again, it is the same document but for the role word.
    assert ticket.to_json() == LEGACY_TICKET.replace('"role":"user"', '"role":"customer"')
    assert Ticket.from_json(ticket.to_json()) == ticket
