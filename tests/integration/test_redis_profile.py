"""The production profile: two Rasa server processes share one Redis.

Turns of the same conversation go to both servers at the same time. With Redis as the
tracker store and the lock store, every message is processed once, in its own turn,
and no event is lost; with per-process stores the second server would not even see
the first one's turns.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from loopback.rasa_server import ROOT, running_fleet
from loopback.redis_server import running_redis

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONVERSATIONS = 12
ROUNDS = 3  # each round sends two messages of one conversation at once, one per server
MESSAGES = ("hello", "thanks a lot", "what payment methods do you take?", "bye")


def _redis_endpoints() -> str:
    """The profile's endpoints without its action endpoint (the fleet sets its own)."""
    profile = yaml.safe_load((ROOT / "endpoints.redis.yml").read_text())
    profile.pop("action_endpoint", None)
    return yaml.safe_dump(profile)


async def _say(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> list[Any]:
    async with session.post(
        f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
    ) as response:
        assert response.status == 200, await response.text()
        return list(await response.json())


async def _tracker(session: aiohttp.ClientSession, url: str, sender: str) -> dict[str, Any]:
    async with session.get(f"{url}/conversations/{sender}/tracker") as response:
        assert response.status == 200
        return dict(await response.json())


async def _converse(urls: list[str], senders: list[str]) -> dict[str, list[str]]:
    sent: dict[str, list[str]] = {sender: [] for sender in senders}
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(sender: str) -> None:
            for round_ in range(ROUNDS):
                texts = [
                    f"{MESSAGES[(2 * round_) % len(MESSAGES)]} #{round_}a",
                    f"{MESSAGES[(2 * round_ + 1) % len(MESSAGES)]} #{round_}b",
                ]
                sent[sender].extend(texts)
                replies = await asyncio.gather(
                    _say(session, urls[0], sender, texts[0]),
                    _say(session, urls[1], sender, texts[1]),
                )
                for text, reply in zip(texts, replies, strict=True):
                    assert reply, f"no answer to {text!r} in {sender}"

        await asyncio.gather(*(one(sender) for sender in senders))
    return sent


async def _trackers(url: str, senders: list[str]) -> dict[str, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        found = await asyncio.gather(*(_tracker(session, url, s) for s in senders))
    return dict(zip(senders, found, strict=True))


def test_two_servers_share_conversations_without_loss_or_doubles(
    sample_bot_model: Path, tmp_path: Path
) -> None:
    with running_redis(tmp_path) as redis_server:
        env = {
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(redis_server.port),
            "ACTION_ENDPOINT_URL": "unused",
            "EVENTS_DB_URL": f"sqlite:///{tmp_path}/events.db",
        }
        with running_fleet(
            sample_bot_model,
            tmp_path,
            count=2,
            endpoints_extra=_redis_endpoints(),
            env_extra=env,
        ) as bots:
            senders = [f"rest:{uuid.uuid4().hex}" for _ in range(CONVERSATIONS)]
            sent = asyncio.run(_converse([b.url for b in bots], senders))
            # Read back from each server: both see the same, complete conversations.
            views = [asyncio.run(_trackers(bot.url, senders)) for bot in bots]

    for sender in senders:
        first, second = (view[sender] for view in views)
        assert first["events"] == second["events"]
        user_events = [e for e in first["events"] if e["event"] == "user"]
        assert sorted(e["text"] for e in user_events) == sorted(sent[sender]), (
            "every message is recorded exactly once"
        )
        assert len({e["message_id"] for e in user_events}) == len(user_events)
        # Turns were serialised by the lock store: each user message is answered
        # before the next one is read.
        kinds = [e["event"] for e in first["events"] if e["event"] in ("user", "bot")]
        for current, following in zip(kinds, kinds[1:], strict=False):
            assert not (current == "user" and following == "user"), kinds
        assert kinds[-1] == "bot"
