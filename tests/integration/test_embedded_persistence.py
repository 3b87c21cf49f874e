"""The embedded profile survives a restart: the real `rasa run` with the project's
endpoints.yml (its SQLite files moved into the test's folder by loopback.rasa_server).

Conversations come back from Rasa's SQL tracker store, and the event stream the insights
read holds the same turns.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.insights.store import SQLEventStore
from loopback.rasa_server import running_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SENDER = "persist-1"
MESSAGES = ("hello", "what payment methods do you take?")


def test_conversation_and_events_survive_a_restart(sample_bot_model: Path, tmp_path: Path) -> None:
    credentials = "rest:\n"
    with running_bot(sample_bot_model, tmp_path, credentials=credentials) as bot:
        for text in MESSAGES:
            r = httpx.post(
                f"{bot.url}/webhooks/rest/webhook",
                json={"sender": SENDER, "message": text},
                timeout=120,
            )
            assert r.status_code == 200 and r.json(), r.text
    assert (tmp_path / "trackers.db").exists()

    with running_bot(sample_bot_model, tmp_path, credentials=credentials) as bot:
        tracker = httpx.get(f"{bot.url}/conversations/{SENDER}/tracker", timeout=60).json()
    users = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert users == list(MESSAGES)
    bots = [e for e in tracker["events"] if e["event"] == "bot"]
    assert len(bots) >= len(MESSAGES)

    store = SQLEventStore(f"sqlite:///{tmp_path}/events.db")
    rows = [r for batch in store.read(0, 1e12) for r in batch if r[1] == SENDER]
    assert [r[2] for r in rows].count("user") == len(MESSAGES)
    assert [r[2] for r in rows].count("bot") == len(bots)
    assert {r[6] for r in rows if r[2] == "user"} == {"rest"}
