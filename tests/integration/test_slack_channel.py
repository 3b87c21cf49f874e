"""The Slack channel end to end: a real Rasa server, signed events, a local Slack API."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import yaml
from slack_sdk.signature import SignatureVerifier

from loopback.fake_slack import BOT_USER_ID, FakeSlack
from loopback.rasa_server import ROOT, RunningBot, running_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECRET = "integration-signing-secret"
TEAM = "T0INTEG01"
QUIET_S = 2.0  # how long to watch for a second, unwanted reply


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack("xoxb-integration").in_thread() as fake:
        yield fake


@pytest.fixture(scope="module")
def bot(
    sample_bot_model: Path, tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack
) -> Iterator[RunningBot]:
    credentials = yaml.safe_dump(
        {
            "rest": None,
            "channels.slack.SlackInput": {
                "bot_token": slack.token,
                "signing_secret": SECRET,
                "api_base_url": slack.base_url,
                "max_body_bytes": 64 * 1024,
            },
        }
    )
    with running_bot(
        sample_bot_model, tmp_path_factory.mktemp("slack-bot"), credentials=credentials
    ) as running:
        yield running


def _greetings() -> list[str]:
    responses = yaml.safe_load((ROOT / "domain" / "responses.yml").read_text())["responses"]
    return [v["text"] for v in responses["utter_greet"]]


def _post(
    bot: RunningBot,
    body: bytes,
    *,
    content_type: str = "application/json",
    secret: str = SECRET,
    age_s: int = 0,
    retry: int | None = None,
) -> requests.Response:
    timestamp = str(int(time.time()) - age_s)
    signature = SignatureVerifier(secret).generate_signature(
        timestamp=timestamp, body=body.decode("utf-8", errors="replace")
    )
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or "",
    }
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    url = f"{bot.url}/webhooks/slack/events"
    return requests.post(url, data=body, headers=headers, timeout=30)


def _event(event: dict[str, Any], event_id: str | None = None) -> bytes:
    envelope = {
        "type": "event_callback",
        "team_id": TEAM,
        "api_app_id": "A0INTEG01",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "event": event,
    }
    return json.dumps(envelope).encode()


def _dm(channel: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "channel": channel,
        "user": "U0CUSTOMER",
        "text": text,
        "ts": f"{time.time():.6f}",
    }


def _channel_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:9].upper()


def test_url_verification_answers_the_challenge(bot: RunningBot) -> None:
    body = json.dumps({"type": "url_verification", "token": "x", "challenge": "pc-challenge"})
    response = _post(bot, body.encode())
    assert response.status_code == 200
    assert "pc-challenge" in response.text


def test_dm_is_acked_fast_and_answered_exactly_once_in_mrkdwn(
    bot: RunningBot, slack: FakeSlack
) -> None:
    channel = _channel_id("D")
    started = time.monotonic()
    response = _post(bot, _event(_dm(channel, "hi there")))
    assert response.status_code == 200
    assert time.monotonic() - started < 3.0
    assert slack.wait_for(lambda s: len(s.posts(channel)) >= 1, timeout=60)
    time.sleep(QUIET_S)
    posts = slack.posts(channel)
    assert len(posts) == 1
    post = posts[0]
    assert post["mrkdwn"] is True
    assert "thread_ts" not in post
    assert post["text"] in _greetings()
    buttons = post["blocks"][1]["elements"]
    assert "/request_human" in {b["value"] for b in buttons}


def test_app_mention_in_a_thread_is_answered_in_that_thread(
    bot: RunningBot, slack: FakeSlack
) -> None:
    channel, root = _channel_id("C"), "1700000000.000100"
    event = {
        "type": "app_mention",
        "channel": channel,
        "user": "U0CUSTOMER",
        "text": f"<@{BOT_USER_ID}> where is my order PC-482913?",
        "ts": f"{time.time():.6f}",
        "thread_ts": root,
    }
    assert _post(bot, _event(event)).status_code == 200
    assert slack.wait_for(lambda s: any("PC-482913" in p["text"] for p in s.posts(channel)))
    posts = slack.posts(channel)
    assert {p.get("thread_ts") for p in posts} == {root}
    assert any("shipped" in p["text"] for p in posts)


def test_button_click_reaches_rasa_and_is_answered_in_the_thread(
    bot: RunningBot, slack: FakeSlack
) -> None:
    channel, root = _channel_id("C"), "1700000000.000200"
    payload = {
        "type": "block_actions",
        "user": {"id": "U0CUSTOMER", "team_id": TEAM},
        "team": {"id": TEAM},
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel, "message_ts": "1700000001.1"},
        "message": {"ts": "1700000001.1", "thread_ts": root, "text": "Hi"},
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": "rasa_button_0",
                "block_id": "rasa_buttons",
                "value": "/order_status",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    form = urlencode({"payload": json.dumps(payload)}).encode()
    response = _post(bot, form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert slack.wait_for(lambda s: len(s.posts(channel)) >= 1)
    posts = slack.posts(channel)
    assert {p.get("thread_ts") for p in posts} == {root}
    assert "order number" in " ".join(p["text"] for p in posts).lower()


def test_a_retried_event_is_answered_once(bot: RunningBot, slack: FakeSlack) -> None:
    channel, event_id = _channel_id("D"), f"Ev{uuid.uuid4().hex[:10].upper()}"
    body = _event(_dm(channel, "hello"), event_id)
    assert _post(bot, body).status_code == 200
    assert _post(bot, body, retry=1).status_code == 200  # while the first turn runs
    assert slack.wait_for(lambda s: len(s.posts(channel)) >= 1)
    assert _post(bot, body, retry=2).status_code == 200  # after it answered
    time.sleep(QUIET_S)
    assert len(slack.posts(channel)) == 1


def test_bad_and_stale_signatures_are_refused(bot: RunningBot, slack: FakeSlack) -> None:
    channel = _channel_id("D")
    marker = f"secret-{uuid.uuid4().hex}"
    bad = _post(bot, _event(_dm(channel, marker)), secret="not-the-secret")
    stale = _post(bot, _event(_dm(channel, marker)), age_s=6 * 60)
    assert bad.status_code == 401
    assert stale.status_code == 401
    time.sleep(QUIET_S)
    assert slack.posts(channel) == []
    assert marker not in bot.log.read_text(errors="replace")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2, 3]", 400),
        (b"", 400),
        (b'{"pad": "' + b"x" * 70_000 + b'"}', 413),
    ],
    ids=["malformed", "array", "empty", "oversized"],
)
def test_malformed_payloads_get_a_4xx_and_the_server_keeps_serving(
    bot: RunningBot, slack: FakeSlack, body: bytes, status: int
) -> None:
    response = _post(bot, body)
    assert response.status_code == status
    assert "error" in response.json()
    assert requests.get(f"{bot.url}/webhooks/slack/", timeout=10).status_code == 200
    assert bot.process.poll() is None
    channel = _channel_id("D")
    assert _post(bot, _event(_dm(channel, "hi"))).status_code == 200
    assert slack.wait_for(lambda s: len(s.posts(channel)) >= 1)
