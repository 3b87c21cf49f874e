"""Single formulas on tiny hand-built periods (the simulated week checks them together)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.handoff.model import EventKind, Ticket, TicketEvent
from bot.insights import metrics
from bot.insights.metrics import Filters, rate
from bot.insights.warehouse import VERIFY_SECONDS, Warehouse

UNTIL = 10 * 86400.0


def _wh(*convs: list[tuple[Any, ...]], tickets: tuple[Ticket, ...] = ()) -> Warehouse:
    wh = Warehouse(0.0, UNTIL)
    rows = []
    n = 0
    for conv in convs:
        for sender, kind, ts, name, value in conv:
            n += 1
            rows.append((n, sender, kind, ts, name, value, "web"))
    wh.add_events(rows)
    wh.add_tickets(tickets)
    wh.build()
    metrics.select(wh, Filters())
    return wh


def _conv(sender: str, start: float, *steps: tuple[str, str | None, Any]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = [(sender, "session_started", start, None, None)]
    for i, (kind, name, value) in enumerate(steps, 1):
        out.append((sender, kind, start + i, name, value))
    return out


def test_rate_without_denominator_is_none() -> None:
    assert rate(0, 0) == {"value": None, "numerator": 0, "denominator": 0}
    assert rate(1, 4)["value"] == 0.25


def test_verified_resolution_waits_24_hours_unless_rated() -> None:
    settled_end = UNTIL - VERIFY_SECONDS - 10
    wh = _wh(
        _conv("a", settled_end - 1, ("user", "order_status", "0.9")),  # verified
        _conv("b", UNTIL - 3600, ("user", "order_status", "0.9")),  # not settled yet
        _conv("c", UNTIL - 3600, ("user", "order_status", "0.9"), ("slot", "csat_rating", "5")),
        _conv("d", 100, ("user", "order_status", "0.9"), ("slot", "csat_rating", "3")),
    )
    assert metrics.verified_resolution(wh) == rate(2, 3)  # a and c of a, c, d


def test_containment_counts_a_final_fallback_and_any_handoff() -> None:
    wh = _wh(
        _conv("a", 0, ("user", "nlu_fallback", "0.2"), ("user", "order_status", "0.9")),
        _conv("b", 50, ("user", "order_status", "0.9"), ("user", "out_of_scope", "0.3")),
        _conv("c", 90, ("user", "order_status", "0.9"), ("slot", "escalation_trigger", '"x"')),
    )
    assert metrics.containment(wh) == rate(1, 3)
    assert metrics.fallback(wh)["messages"] == rate(2, 5)


def _ticket(i: int, claim: float, resolve: float, reopened: bool = False) -> Ticket:
    events = [TicketEvent(EventKind.CLAIMED, 100 + claim, "ann")]
    events.append(TicketEvent(EventKind.RESOLVED, 100 + resolve, "ann"))
    if reopened:
        events.append(TicketEvent(EventKind.REOPENED, 100 + resolve + 1))
    return Ticket(
        id=f"t{i}",
        conversation_id=f"s{i}",
        channel="web",
        customer_id="c",
        created_at=100,
        status="resolved",
        claimed_at=100 + claim,
        resolved_at=100 + resolve,
        first_agent_reply_at=100 + claim + 1,
        events=tuple(events),
    )


@pytest.mark.parametrize(("claims", "median"), [((10, 20, 90), 20), ((10, 20, 30, 90), 25)])
def test_medians_odd_and_even(claims: tuple[int, ...], median: float) -> None:
    tickets = tuple(_ticket(i, c, c + 100, reopened=i == 0) for i, c in enumerate(claims))
    wh = _wh(tickets=tickets)
    overall = metrics.agents(wh, filtered=False)["overall"]
    assert overall["time_to_claim"]["median"] == median
    assert overall["handle_time"]["median"] == 100
    assert overall["reopen_rate"] == rate(1, len(claims))


def test_slot_values_are_json() -> None:
    wh = _wh(_conv("a", 0, ("user", "order_status", "0.9"), ("slot", "csat_rating", json.dumps(4))))
    assert metrics.csat(wh)["overall"]["mean"] == 4
