"""One insights computation: load a period, compute every figure, link redacted examples.

:func:`compute_insights` is what the CLI report and the inbox page call. Nothing it returns
holds raw customer text or ids: conversations are named by a short hash of their key, and
the example transcripts are redacted with :class:`common.privacy.Redactor`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Any, Protocol

from bot.handoff.model import Ticket
from bot.insights import metrics
from bot.insights.metrics import Filters
from bot.insights.store import SQLEventStore
from bot.insights.warehouse import Warehouse
from common.privacy import PlaceholderSession, Redactor

logger = logging.getLogger(__name__)

MAX_EXAMPLE_TURNS = 40


class TicketHistory(Protocol):
    """Where the agent figures come from (both handoff queues implement it)."""

    async def tickets_created(self, since: float, until: float) -> list[Ticket]:
        """Every ticket created in ``[since, until)``."""
        ...


def conversation_ref(conv: str) -> str:
    """The public name of a conversation key: 12 hex digits of its SHA-256."""
    return hashlib.sha256(conv.encode("utf-8")).hexdigest()[:12]


def load(store: SQLEventStore, tickets: list[Ticket], since: float, until: float) -> Warehouse:
    """Copy the period's events and tickets into a new warehouse and derive its tables."""
    started = time.perf_counter()
    wh = Warehouse(since, until)
    for batch in store.read(since, until):
        wh.add_events(batch)
    wh.add_tickets(tickets)
    wh.build()
    logger.info("Insights: period loaded in %.1f s.", time.perf_counter() - started)
    return wh


def figures(wh: Warehouse, filters: Filters) -> dict[str, Any]:
    """Every metric of the loaded period for the conversations that pass ``filters``."""
    metrics.select(wh, filters)
    filtered = filters.channel is not None or filters.intent is not None
    return {
        "period": {"since": wh.since, "until": wh.until},
        "filters": filters.to_dict(),
        "totals": metrics.totals(wh),
        "containment": metrics.containment(wh),
        "verified_resolution": metrics.verified_resolution(wh),
        "handoff_by_trigger": metrics.handoff_by_trigger(wh),
        "fallback": metrics.fallback(wh),
        "knowledge_refusals": metrics.knowledge_refusals(wh),
        "intent_volume": metrics.intent_volume(wh),
        "csat": metrics.csat(wh),
        "agents": metrics.agents(wh, filtered),
        "friction": metrics.friction(wh),
        "choices": {
            "channels": [r[0] for r in wh.query("SELECT DISTINCT channel FROM conv ORDER BY 1")],
            "intents": [r[0] for r in wh.query("SELECT DISTINCT intent FROM conv ORDER BY 1")],
        },
    }


def _turns(data: list[str], redactor: Redactor) -> list[dict[str, str]]:
    session = PlaceholderSession()
    turns = []
    for raw in data:
        event = json.loads(raw)
        kind = event.get("event")
        text = event.get("text")
        if kind not in ("user", "bot") or not text:
            continue
        role = "customer" if kind == "user" else "bot"
        turns.append({"role": role, "text": redactor.redact(str(text), session).text})
        if len(turns) >= MAX_EXAMPLE_TURNS:
            break
    return turns


def examples(
    wh: Warehouse, store: SQLEventStore, report: dict[str, Any], redactor: Redactor
) -> dict[str, Any]:
    """Replace the friction rows' conversation keys by refs; the redacted transcripts."""
    transcripts: dict[str, Any] = {}
    for row in report["friction"]:
        refs = []
        for conv in row["examples"]:
            ref = conversation_ref(conv)
            refs.append(ref)
            if ref in transcripts:
                continue
            found = wh.query("SELECT sender_id, start, end_ts FROM conv WHERE conv = ?", (conv,))
            if not found:
                continue
            sender, start, end = found[0]
            data = store.conversation_data([sender], start, end + 1e-3)
            transcripts[ref] = _turns(data, redactor)
        row["examples"] = refs
    return transcripts


async def compute_insights(
    store: SQLEventStore,
    history: TicketHistory | None,
    since: float,
    until: float,
    filters: Filters | None = None,
    *,
    redactor: Redactor | None = None,
) -> dict[str, Any]:
    """Every figure of a period, with redacted example conversations.

    Loading and SQL run in a worker thread; only the ticket read runs on the loop.

    Args:
        store: The event store.
        history: The handoff queue (agent figures); ``None``: none.
        since: Start (Unix time, inclusive).
        until: End (Unix time, exclusive).
        filters: Channel and intent filters.
        redactor: Redacts the example transcripts; a new default :class:`Redactor`
            when ``None`` (its name model loads on first use: seconds, so long-lived
            callers pass one they keep).

    Returns:
        The report as JSON-ready data; ``examples`` maps refs to redacted transcripts.
    """
    tickets = await history.tickets_created(since, until) if history is not None else []

    def work() -> dict[str, Any]:
        wh = load(store, tickets, since, until)
        try:
            report = figures(wh, filters or Filters())
            report["examples"] = examples(wh, store, report, redactor or Redactor())
            return report
        finally:
            wh.close()

    return await asyncio.to_thread(work)
