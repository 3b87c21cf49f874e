"""Load a period of events and tickets into an in-memory SQLite database for the metrics.

The event store may be SQLite or PostgreSQL; the metrics always run on a private in-memory
SQLite copy of the period's flat columns (:data:`~bot.insights.store.FLAT_COLUMNS`), so one
set of SQL serves both and never loads the production database with analytical queries.
Loading copies rows in batches (``executemany``); every figure is computed by SQL
(:mod:`bot.insights.metrics`), not by Python loops.

Derived tables (all built with SQL right after loading):

- ``evc``: the events with their conversation key ``conv`` (sender id plus the number of
  ``session_started`` events before it: a new Rasa session is a new conversation).
- ``uev``: customer messages with a recognised intent (not a fallback, not a control
  intent), indexed by conversation and time; the "step" a conversation was at.
- ``conv``: one row per conversation with at least one customer message.
- ``tk``: one row per handoff ticket.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from bot.handoff.model import EventKind, Ticket
from bot.insights.events import COMMENT_SLOT, FALLBACK_INTENTS, RATING_SLOT, TRIGGER_SLOT

CONTROL_INTENTS = (
    "greet",
    "goodbye",
    "thank_you",
    "affirm",
    "deny",
    "bot_challenge",
    "request_human",
    "handoff_resolved",
    "csat_rate",
)
"""Intents that say nothing about the customer's topic."""

VERIFY_SECONDS = 24 * 3600
"""A contained, unrated conversation is verified when the customer has not come back
within this long."""

LOW_RATING = 2
"""Ratings at or below this are friction."""

GOOD_RATING = 4
"""Ratings at or above this are satisfied (CSAT) and verify a resolution."""


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


FALLBACK_SQL = _sql_list(FALLBACK_INTENTS)
"""The fallback intents as an SQL list, for ``IN (...)``."""
CONTROL_SQL = _sql_list(CONTROL_INTENTS)
"""The control intents as an SQL list, for ``IN (...)``."""

_SCHEMA = """
CREATE TABLE ev (
    id INTEGER, sender_id TEXT, type_name TEXT, ts REAL, name TEXT, value TEXT, channel TEXT
);
CREATE TABLE tk (
    id TEXT, conversation_id TEXT, channel TEXT, trigger TEXT, created_at REAL,
    claimed_at REAL, first_agent TEXT, first_reply_at REAL, resolved_at REAL,
    resolver TEXT, reopened INTEGER
);
"""

_DERIVE = f"""
CREATE TABLE evc AS
SELECT ev.*,
       sender_id || '#' || SUM(type_name = 'session_started') OVER (
           PARTITION BY sender_id ORDER BY ts, id ROWS UNBOUNDED PRECEDING) AS conv
FROM ev;
CREATE INDEX evc_conv ON evc (conv, type_name, ts, id);

CREATE TABLE uev AS
SELECT conv, ts, id, name FROM evc
WHERE type_name = 'user' AND name IS NOT NULL
  AND name NOT IN ({FALLBACK_SQL}) AND name NOT IN ({CONTROL_SQL});
CREATE INDEX uev_conv ON uev (conv, ts, id);

CREATE TABLE conv AS
WITH base AS (
    SELECT conv, MIN(sender_id) AS sender_id, MIN(ts) AS start, MAX(ts) AS end_ts,
           MAX(channel) AS channel,
           SUM(type_name = 'user') AS user_msgs,
           SUM(type_name = 'user' AND name IN ({FALLBACK_SQL})) AS fallback_msgs
    FROM evc GROUP BY conv HAVING SUM(type_name = 'user') > 0
),
last_user AS (
    SELECT conv, name FROM (
        SELECT conv, name, ROW_NUMBER() OVER (PARTITION BY conv ORDER BY ts DESC, id DESC) AS rn
        FROM evc WHERE type_name = 'user') WHERE rn = 1
),
topic AS (
    SELECT conv, name FROM (
        SELECT conv, name, ROW_NUMBER() OVER (PARTITION BY conv ORDER BY ts, id) AS rn
        FROM uev) WHERE rn = 1
),
trig AS (
    SELECT conv, value, ts FROM (
        SELECT conv, TRIM(value, '"') AS value, ts,
               ROW_NUMBER() OVER (PARTITION BY conv ORDER BY ts, id) AS rn
        FROM evc WHERE type_name = 'slot' AND name = '{TRIGGER_SLOT}' AND value != 'null')
    WHERE rn = 1
),
rating AS (
    SELECT conv, value FROM (
        SELECT conv, CAST(value AS INTEGER) AS value,
               ROW_NUMBER() OVER (PARTITION BY conv ORDER BY ts DESC, id DESC) AS rn
        FROM evc WHERE type_name = 'slot' AND name = '{RATING_SLOT}' AND value != 'null')
    WHERE rn = 1
),
comment AS (
    SELECT DISTINCT conv FROM evc
    WHERE type_name = 'slot' AND name = '{COMMENT_SLOT}' AND value != 'null'
),
open_loop AS (
    SELECT conv, name FROM (
        SELECT conv, name, ROW_NUMBER() OVER (PARTITION BY conv ORDER BY ts DESC, id DESC) AS rn
        FROM evc WHERE type_name = 'active_loop') WHERE rn = 1 AND name IS NOT NULL
)
SELECT b.conv, b.sender_id, b.start, b.end_ts, COALESCE(b.channel, 'unknown') AS channel,
       b.user_msgs, b.fallback_msgs,
       COALESCE(t.name, '(none)') AS intent,
       trig.value AS trigger_key,
       CASE WHEN trig.value IS NULL THEN NULL
            WHEN INSTR(trig.value, ':') > 0 THEN SUBSTR(trig.value, 1, INSTR(trig.value, ':') - 1)
            ELSE trig.value END AS trigger,
       trig.ts AS escalated_at,
       (trig.value IS NOT NULL) AS handed_off,
       (lu.name IN ({FALLBACK_SQL})) AS unresolved_fallback,
       (ol.name IS NOT NULL) AS abandoned,
       ol.name AS open_loop,
       r.value AS rating,
       (c.conv IS NOT NULL) AS commented,
       LEAD(b.start) OVER (PARTITION BY b.sender_id ORDER BY b.start) AS next_start
FROM base b
LEFT JOIN last_user lu ON lu.conv = b.conv
LEFT JOIN topic t ON t.conv = b.conv
LEFT JOIN trig ON trig.conv = b.conv
LEFT JOIN rating r ON r.conv = b.conv
LEFT JOIN comment c ON c.conv = b.conv
LEFT JOIN open_loop ol ON ol.conv = b.conv;
CREATE INDEX conv_key ON conv (conv);
"""


def ticket_row(ticket: Ticket) -> tuple[Any, ...]:
    """The ``tk`` row of a ticket: first claimer, resolver and whether it was reopened."""
    first_agent = next((e.actor for e in ticket.events if e.kind is EventKind.CLAIMED), None)
    resolver = next(
        (e.actor for e in reversed(ticket.events) if e.kind is EventKind.RESOLVED), None
    )
    reopened = any(e.kind is EventKind.REOPENED for e in ticket.events)
    trigger = ticket.trigger.partition(":")[0] if ticket.trigger else None
    return (
        ticket.id,
        ticket.conversation_id,
        ticket.channel,
        trigger,
        ticket.created_at,
        ticket.claimed_at,
        first_agent,
        ticket.first_agent_reply_at,
        ticket.resolved_at,
        resolver,
        int(reopened),
    )


class Warehouse:
    """The in-memory database of one period.

    Args:
        since: Start of the period (Unix time, inclusive).
        until: End of the period (Unix time, exclusive).
    """

    def __init__(self, since: float, until: float) -> None:
        self.since = since
        self.until = until
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.executescript(_SCHEMA)

    def add_events(self, rows: Iterable[Sequence[Any]]) -> None:
        """Copy ``(id, sender_id, type_name, timestamp, name, value, channel)`` rows."""
        self.db.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def add_tickets(self, tickets: Iterable[Ticket]) -> None:
        """Copy the tickets' timing columns."""
        self.db.executemany(
            "INSERT INTO tk VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ticket_row(t) for t in tickets),
        )

    def build(self) -> None:
        """Derive the conversation tables; call once, after loading."""
        self.db.executescript(_DERIVE)
        self.db.commit()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query and return its rows."""
        return list(self.db.execute(sql, params))

    def close(self) -> None:
        """Free the database."""
        self.db.close()


def slot_value(raw: str | None) -> Any:
    """Decode the ``value`` column of a slot row (JSON text)."""
    return None if raw is None else json.loads(raw)
