"""Every metric of a simulated week of known conversations, against hand-computed values.

The week (tests/bot/insights/week.py), 13 conversations in the period (web:0 is before it):

===========  ========  =========================================  ==========  ======
conversation channel   what happens                               handed off  rating
===========  ========  =========================================  ==========  ======
web:1        webchat   greet, order_status, goodbye               no          5
web:2        webchat   returns; knowledge answer "extract"        no          -
slack:3 #1   slack     order_status; back 2 h later (slack:3 #2)  no          -
slack:3 #2   slack     order_status                               no          -
tg:4         telegram  request_human                              asked_for_  4
web:5        webchat   two fallbacks                              low_conf.   -
mail:6       email     complaint                                  negative_   -
web:7        webchat   order_status, payment_issue                sensitive_  2
web:8        webchat   two knowledge answers, ends on a fallback  no          -
slack:9      slack     cancel_order, form left open (abandoned)   no          -
tg:10        telegram  order_status                               no          3
web:11       webchat   order_status, 12 h before the period ends  no          -
web:12       webchat   product_question; knowledge "answer"       generation  -
===========  ========  =========================================  ==========  ======
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.handoff.sqlite_queue import SQLiteHandoffQueue
from bot.insights.broker import RecordingEventBroker
from bot.insights.metrics import Filters
from bot.insights.service import compute_insights, conversation_ref
from bot.insights.store import SQLEventStore
from common.privacy import RedactionConfig, Redactor
from tests.bot.insights import week


def _redactor() -> Redactor:
    return Redactor(RedactionConfig(types=frozenset({"EMAIL", "PHONE", "CARD"})))


@pytest.fixture
async def report(tmp_path: Path) -> dict[str, Any]:
    store = SQLEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    broker = RecordingEventBroker(store, batch=7)
    for event in week.events(week.week()):
        broker.publish(event)
    await broker.close()
    clock = week.Clock()
    queue = SQLiteHandoffQueue(str(tmp_path / "handoff.db"), clock=clock)
    await queue.initialize()
    await week.tickets(queue, clock)
    reader = SQLEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    result = await compute_insights(reader, queue, week.SINCE, week.UNTIL, redactor=_redactor())
    await queue.close()
    return result


def _rate(value: dict[str, Any]) -> tuple[Any, Any]:
    return value["numerator"], value["denominator"]


async def test_totals_containment_and_verified_resolution(report: dict[str, Any]) -> None:
    assert report["totals"] == {
        "conversations": 13,
        "customer_messages": 19,
        "handed_off": 5,
        "abandoned": 1,
        "rated": 4,
    }
    # contained: 13 - 5 handed off - web:8 (ends on a fallback)
    assert _rate(report["containment"]) == (7, 13)
    # settled: all but web:11; verified: web:1 (5), web:2, slack:3 #2 (not back)
    assert _rate(report["verified_resolution"]) == (3, 12)


async def test_handoffs_fallbacks_and_refusals(report: dict[str, Any]) -> None:
    by_trigger = {r["trigger"]: _rate(r) for r in report["handoff_by_trigger"]}
    assert by_trigger == {
        "asked_for_human": (1, 13),
        "generation_guard_failed": (1, 13),
        "low_confidence": (1, 13),
        "negative_sentiment": (1, 13),
        "sensitive_topic": (1, 13),
    }
    assert _rate(report["fallback"]["messages"]) == (3, 19)
    assert _rate(report["fallback"]["conversations"]) == (2, 13)
    assert _rate(report["knowledge_refusals"]["rate"]) == (2, 4)
    assert report["knowledge_refusals"]["by_outcome"] == {
        "answer": 2,
        "dont_know": 1,
        "extract": 1,
    }


async def test_intent_volume(report: dict[str, Any]) -> None:
    volume = {(r["day"], r["intent"]): r["messages"] for r in report["intent_volume"]}
    assert volume[("2026-11-02", "order_status")] == 1  # web:1 (web:0 is before the period)
    assert volume[("2026-11-03", "order_status")] == 2  # slack:3, both sessions
    assert volume[("2026-11-04", "nlu_fallback")] == 2  # web:5
    assert volume[("2026-11-06", "nlu_fallback")] == 1  # web:8
    assert sum(volume.values()) == 19


async def test_csat(report: dict[str, Any]) -> None:
    csat = report["csat"]
    assert csat["overall"]["ratings"] == 4
    assert csat["overall"]["mean"] == pytest.approx(3.5)
    assert _rate(csat["overall"]["csat"]) == (2, 4)
    assert csat["overall"]["comments"] == 1

    def table(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
        return {r["key"]: (r["ratings"], round(r["mean"], 4), *_rate(r["csat"])) for r in rows}

    assert table(csat["by_channel"]) == {"webchat": (2, 3.5, 1, 2), "telegram": (2, 3.5, 1, 2)}
    assert table(csat["by_intent"]) == {"order_status": (3, 3.3333, 1, 3), "(none)": (1, 4, 1, 1)}
    assert table(csat["by_handler"]) == {"bot": (2, 4, 1, 2), "agent": (2, 3, 1, 2)}


async def test_agent_figures(report: dict[str, Any]) -> None:
    overall = report["agents"]["overall"]
    assert overall["tickets"] == 5
    assert overall["time_to_claim"] == {"median": 60, "mean": pytest.approx(130)}
    assert overall["first_reply"] == {"median": 120, "mean": pytest.approx(190)}
    assert overall["handle_time"] == {"median": 540, "mean": pytest.approx(470)}
    assert _rate(overall["reopen_rate"]) == (1, 3)
    agents = {a["agent"]: a for a in report["agents"]["by_agent"]}
    assert set(agents) == {"alice", "bob"}
    assert agents["alice"]["time_to_claim"]["median"] == 45
    assert agents["alice"]["first_reply"]["median"] == 105
    assert agents["alice"]["handle_time"]["median"] == 405
    assert _rate(agents["alice"]["reopen_rate"]) == (0, 2)
    assert agents["bob"]["handle_time"]["median"] == 600
    assert _rate(agents["bob"]["reopen_rate"]) == (1, 1)


async def test_friction_ranked_with_redacted_examples(report: dict[str, Any]) -> None:
    rows = [(r["kind"], r["step"], r["volume"], r["failures"]) for r in report["friction"]]
    assert rows == [
        ("escalation", "(start)", 13, 2),  # tg:4 (request_human), web:5 (fallbacks only)
        ("abandoned", "form:cancel_form", 1, 1),
        ("escalation", "complaint", 1, 1),
        ("escalation", "payment_issue", 1, 1),
        ("escalation", "product_question", 2, 1),
        ("fallback", "(start)", 13, 1),
        ("fallback", "product_question", 2, 1),
        ("low_rating", "payment_issue", 1, 1),
    ]
    fallback_after_product = report["friction"][6]
    assert fallback_after_product["rate"] == pytest.approx(0.5)
    ref = conversation_ref("web:8#1")
    assert fallback_after_product["examples"] == [ref]
    transcript = report["examples"][ref]
    texts = " ".join(t["text"] for t in transcript)
    assert "anna@example.com" not in texts and "[EMAIL_1]" in texts
    assert "web:8" not in str(report)


async def test_filters(tmp_path: Path, report: dict[str, Any]) -> None:
    store = SQLEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    slack = await compute_insights(
        store, None, week.SINCE, week.UNTIL, Filters(channel="slack"), redactor=_redactor()
    )
    assert slack["totals"]["conversations"] == 3
    assert _rate(slack["containment"]) == (3, 3)
    order = await compute_insights(
        store,
        None,
        week.SINCE,
        week.UNTIL,
        Filters(intent="order_status"),
        redactor=_redactor(),
    )
    assert order["totals"]["conversations"] == 6
    assert report["choices"]["channels"] == ["email", "slack", "telegram", "webchat"]
