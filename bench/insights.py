"""Insights benchmark: a month of traffic, then the full report, against a Python-loop baseline.

Generates ``--conversations`` conversations over ``--days`` days in the soak driver's
shapes (the four channels of ``loopback/soak_driver.py`` in turn, a few customer messages
each), with fallbacks, handoffs for every trigger and their tickets, abandoned forms,
knowledge answers and ratings. Events go through the real write path
(:class:`bot.insights.store.SQLEventStore`, SQLite); tickets are written as the SQLite
handoff queue stores them. Then, in the same run:

- **ours**: :func:`bot.insights.service.compute_insights`: load the period into the
  in-memory SQLite warehouse and compute every figure in SQL (friction and redacted
  examples included);
- **baseline**: one Python pass over the stored events' JSON computing only containment
  and the fallback rate (what reading the event stream without SQL looks like); its two
  figures must equal ours.

Usage:
    python bench/insights.py [--conversations 100000] [--days 30] [--keep DIR]

Prints a Markdown table and writes ``bench/results/insights.json``. Exits 1 if the report
takes longer than 60 s or the baseline disagrees.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.handoff.model import EventKind, HandoffMessage, MessageAuthor, Ticket, TicketEvent  # noqa: E402
from bot.handoff.sqlite_queue import SQLiteHandoffQueue  # noqa: E402
from bot.insights.events import EventRow, flatten  # noqa: E402
from bot.insights.service import compute_insights  # noqa: E402
from bot.insights.store import SQLEventStore  # noqa: E402
from loopback.soak_driver import CHANNELS, TEXTS  # noqa: E402
from training.evaluate.intents import machine_description  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "insights.json"
INTENTS = ("greet", "order_status", "payment_methods", "shipping_options", "returns", "thank_you")
TRIGGERS = (
    "asked_for_human",
    "low_confidence",
    "negative_sentiment",
    "sensitive_topic:fraud",
    "generation_guard_failed",
)
AGENTS = ("alice", "bob", "carol", "dave")
DAY = 86400.0


class Generator:
    """Builds one conversation's events at a time (deterministic for a seed)."""

    def __init__(self, start: float, days: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        self.tickets: list[Ticket] = []

    def conversation(self, n: int) -> Iterator[dict[str, Any]]:
        """The events of conversation ``n`` (its ticket, if any, goes to ``tickets``)."""
        rng = self.rng
        channel = CHANNELS[n % len(CHANNELS)]
        sender = f"{channel}:bench-{n % 60_000}"  # returning customers: 60k senders
        t = self.start + rng.random() * self.days * DAY
        seq = 0

        def ev(kind: str, **fields: Any) -> dict[str, Any]:
            nonlocal t
            t += 1.0 + rng.random() * 20
            return {"sender_id": sender, "event": kind, "timestamp": t, **fields}

        yield ev("action", name="action_session_start")
        yield ev("session_started")
        yield ev("action", name="action_listen")
        escalate = rng.random() < 0.12
        for _ in range(rng.randint(1, 5)):
            seq += 1
            fallback = rng.random() < 0.08
            intent = "nlu_fallback" if fallback else rng.choice(INTENTS)
            yield ev(
                "user",
                text=rng.choice(TEXTS),
                message_id=f"{n}-{seq}",
                input_channel=channel,
                parse_data={"intent": {"name": intent, "confidence": 0.4 if fallback else 0.93}},
                metadata={},
            )
            yield ev("action", name="utter_x")
            outcome = (
                rng.choice(("answer", "answer", "extract", "dont_know"))
                if rng.random() < 0.1
                else None
            )
            metadata: dict[str, Any] = {"utter_action": "utter_x"}
            if outcome:
                metadata["knowledge"] = {"outcome": outcome}
            yield ev("bot", text="ok", metadata=metadata)
            yield ev("action", name="action_listen")
        if rng.random() < 0.03:
            yield ev("active_loop", name="cancel_form")
        if escalate:
            trigger = rng.choice(TRIGGERS)
            yield ev("slot", name="escalation_trigger", value=trigger)
            yield ev("action", name="action_escalate")
            yield ev("slot", name="escalation_trigger", value=None)
            self.tickets.append(self._ticket(sender, channel, t, trigger, n))
        if rng.random() < 0.2:
            yield ev("slot", name="csat_asked_at", value=t)
            yield ev("slot", name="csat_rating", value=rng.randint(1, 5))

    def _ticket(self, sender: str, channel: str, at: float, trigger: str, n: int) -> Ticket:
        rng = self.rng
        agent = rng.choice(AGENTS)
        claim, reply, resolve = (at + rng.uniform(10, 600), 0.0, 0.0)
        reply = claim + rng.uniform(5, 300)
        resolve = reply + rng.uniform(60, 1800)
        events = [
            TicketEvent(EventKind.ENQUEUED, at),
            TicketEvent(EventKind.CLAIMED, claim, agent),
            TicketEvent(EventKind.RESOLVED, resolve, agent),
        ]
        if rng.random() < 0.1:
            events.append(TicketEvent(EventKind.REOPENED, resolve + 3600))
        return Ticket(
            id=f"t{n}",
            conversation_id=sender,
            channel=channel,
            customer_id=sender,
            created_at=at,
            status="resolved",
            trigger=trigger,
            assigned_agent=agent,
            claimed_at=claim,
            first_agent_reply_at=reply,
            resolved_at=resolve,
            events=tuple(events),
            messages=(HandoffMessage(f"m{n}", MessageAuthor.AGENT, "hi", reply, agent),),
        )


def generate(store: SQLEventStore, gen: Generator, conversations: int) -> int:
    """Store every conversation's events through the event store; returns the count."""
    batch: list[EventRow] = []
    total = 0
    for n in range(conversations):
        for event in gen.conversation(n):
            row = flatten(event)
            assert row is not None
            batch.append(row)
        if len(batch) >= 20_000:
            store.append(batch)
            total += len(batch)
            batch = []
    store.append(batch)
    return total + len(batch)


async def write_tickets(path: Path, tickets: Sequence[Ticket]) -> None:
    """Create the SQLite queue's schema and insert the tickets as it stores them."""
    queue = SQLiteHandoffQueue(str(path))
    await queue.initialize()  # the schema
    await queue.close()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO handoff_tickets VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    t.id,
                    t.conversation_id,
                    t.status.value,
                    t.priority,
                    t.created_at,
                    None,
                    t.to_json(),
                )
                for t in tickets
            ],
        )


def baseline(path: Path, since: float, until: float) -> dict[str, Any]:
    """Containment and fallback rate from one Python pass over the events' JSON."""
    convs: dict[str, dict[str, Any]] = {}
    sessions: dict[str, int] = {}
    messages = fallbacks = 0
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT data FROM insight_events WHERE timestamp >= ? AND timestamp < ?"
            " ORDER BY timestamp, id",
            (since, until),
        )
        for (data,) in rows:
            e = json.loads(data)
            sender, kind = e["sender_id"], e["event"]
            if kind == "session_started":
                sessions[sender] = sessions.get(sender, 0) + 1
            key = f"{sender}#{sessions.get(sender, 0)}"
            c = convs.setdefault(key, {"users": 0, "handoff": False, "last": None})
            if kind == "user":
                intent = e["parse_data"]["intent"]["name"]
                c["users"] += 1
                c["last"] = intent
                messages += 1
                fallbacks += intent in ("nlu_fallback", "out_of_scope")
            elif kind == "slot" and e["name"] == "escalation_trigger" and e["value"] is not None:
                c["handoff"] = True
    real = [c for c in convs.values() if c["users"]]
    contained = sum(
        1 for c in real if not c["handoff"] and c["last"] not in ("nlu_fallback", "out_of_scope")
    )
    return {"containment": (contained, len(real)), "fallback": (fallbacks, messages)}


async def report(
    store: SQLEventStore, tickets_path: Path, since: float, until: float
) -> dict[str, Any]:
    """Ours: every figure, with the agent figures from the queue."""
    queue = SQLiteHandoffQueue(str(tickets_path))
    await queue.initialize()
    try:
        return await compute_insights(store, queue, since, until)
    finally:
        await queue.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, store, report, compare; 1 if over 60 s or the baseline disagrees."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--keep", type=Path, default=None, help="keep the databases here")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-insights-"))
    folder.mkdir(parents=True, exist_ok=True)
    events_path, tickets_path = folder / "events.db", folder / "handoff.db"
    for path in (events_path, tickets_path):
        path.unlink(missing_ok=True)
    start = 1_790_000_000.0
    since, until = start, start + (args.days + 1) * DAY
    store = SQLEventStore(f"sqlite:///{events_path}")

    t0 = time.perf_counter()
    gen = Generator(start, args.days, args.seed)
    events = generate(store, gen, args.conversations)
    asyncio.run(write_tickets(tickets_path, gen.tickets))
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    ours = asyncio.run(report(store, tickets_path, since, until))
    ours_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    base = baseline(events_path, since, until)
    base_s = time.perf_counter() - t0

    agree = base["containment"] == (
        ours["containment"]["numerator"],
        ours["containment"]["denominator"],
    ) and base["fallback"] == (
        ours["fallback"]["messages"]["numerator"],
        ours["fallback"]["messages"]["denominator"],
    )
    result = {
        "machine": machine_description(),
        "conversations": ours["totals"]["conversations"],
        "events": events,
        "tickets": len(gen.tickets),
        "generate_and_store_s": round(load_s, 1),
        "store_rows_per_s": round(events / load_s),
        "report_s": round(ours_s, 1),
        "baseline_two_figures_s": round(base_s, 1),
        "ratio_baseline_over_ours": round(base_s / ours_s, 2),
        "baseline_agrees": agree,
        "containment": ours["containment"]["value"],
        "friction_rows": len(ours["friction"]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(
        "| events | conversations | tickets | store (s) | report, all figures (s) | "
        "baseline, 2 figures (s) | baseline / ours | agree |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {events:,} | {result['conversations']:,} | {len(gen.tickets):,} | {load_s:.1f} | "
        f"{ours_s:.1f} | {base_s:.1f} | {base_s / ours_s:.2f}× | {agree} |"
    )
    if args.keep is None:
        for path in (events_path, tickets_path):
            path.unlink(missing_ok=True)
        folder.rmdir()
    return 0 if agree and ours_s <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
