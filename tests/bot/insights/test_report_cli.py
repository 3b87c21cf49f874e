"""``python -m bot.insights report``: standalone HTML with charts and JSON, no raw PII."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from bot.handoff.sqlite_queue import SQLiteHandoffQueue
from bot.insights.broker import RecordingEventBroker
from bot.insights.cli import main, parse_since
from bot.insights.store import SQLEventStore
from common.errors import ConfigError
from tests.bot.insights import week


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


async def test_report_writes_html_with_charts_and_json_without_pii(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/events.db"
    broker = RecordingEventBroker(SQLEventStore(url))
    for event in week.events(week.week()):
        broker.publish(event)
    await broker.close()
    clock = week.Clock()
    queue = SQLiteHandoffQueue(str(tmp_path / "handoff.db"), clock=clock)
    await queue.initialize()
    await week.tickets(queue, clock)
    await queue.close()
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        yaml.safe_dump(
            {
                "event_broker": {"type": "bot.insights.broker.RecordingEventBroker", "url": url},
                "handoff_queue": {"type": "sqlite", "path": str(tmp_path / "handoff.db")},
            }
        )
    )
    topics = tmp_path / "topics.json"
    topics.write_text(
        json.dumps(
            {
                "topics": [
                    {
                        "name": "gift_cards",
                        "this_week": 9,
                        "last_week": 3,
                        "growth": 2.0,
                        "key_terms": ["gift", "card"],
                        "examples": ["can I buy a gift card"],
                    }
                ]
            }
        )
    )
    out = tmp_path / "out" / "report.html"
    status = await asyncio.to_thread(
        main,
        [
            "report",
            "--since",
            _iso(week.SINCE),
            "--until",
            _iso(week.UNTIL),
            "--out",
            str(out),
            "--endpoints",
            str(endpoints),
            "--topics",
            str(topics),
        ],
    )
    assert status == 0
    html = out.read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == 6
    assert "plotly.js v" in html  # the library itself is embedded: works offline
    assert "gift_cards" in html
    assert "anna@example.com" not in html and "[EMAIL_1]" in html
    for sender in ("web:8", "tg:4", "slack:3"):
        assert sender not in html
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert (data["containment"]["numerator"], data["containment"]["denominator"]) == (7, 13)
    assert data["agents"]["overall"]["tickets"] == 5
    assert data["trending_topics"]["topics"][0]["name"] == "gift_cards"
    assert "anna@example.com" not in json.dumps(data)


def test_parse_since() -> None:
    assert parse_since("30d", 1_000_000_000.0) == 1_000_000_000.0 - 30 * 86400
    assert parse_since("12h", 100_000.0) == 100_000.0 - 12 * 3600
    assert parse_since("2026-11-02T00:00:00+00:00", 0) == week.T0
    with pytest.raises(ConfigError):
        parse_since("last month", 0)
