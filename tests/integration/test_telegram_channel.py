"""The Telegram channel end to end: a real Rasa server, a fake Bot API on loopback.

Updates are posted as Telegram posts them (JSON, secret header); what the channel sends
back is what the fake Bot API received, checked the way Telegram checks it.
"""

from __future__ import annotations

import difflib
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from loopback.fake_telegram import (
    ApiCall,
    FakeTelegramServer,
    callback_update,
    edited_update,
    photo_update,
    sticker_update,
    text_update,
    utf16_len,
    visible_text,
)
from loopback.rasa_server import ROOT, RunningBot, running_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "7000000001:AAH-fake-token_for-tests"
SECRET = "integration-secret_42"
MESSAGE_LIMIT = 200
"""Telegram's 4,096-character limit, lowered for this server so that an ordinary reply
(the 250-370 characters of ``utter_payment_methods``) is split end to end; the unit tests
split a reply of more than 4,096 characters with the shipped style."""
_update_ids = itertools.count(100)
_chat_ids = itertools.count(5_000_001)


def _credentials(api_url: str) -> str:
    return yaml.safe_dump(
        {
            "rest": None,
            "channels.telegram.TelegramInput": {
                "access_token": TOKEN,
                "secret_token": SECRET,
                "api_base_url": api_url,
            },
        }
    )


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeTelegramServer]:
    with FakeTelegramServer(TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def bot(
    sample_bot_model: Path, fake_api: FakeTelegramServer, tmp_path_factory
) -> Iterator[RunningBot]:
    tmp = tmp_path_factory.mktemp("telegram")
    styles = yaml.safe_load((ROOT / "bot" / "nlg" / "channel_styles.yml").read_text())
    styles["telegram"]["max_message_chars"] = MESSAGE_LIMIT
    (tmp / "styles.yml").write_text(yaml.safe_dump(styles))
    with running_bot(
        sample_bot_model,
        tmp,
        credentials=_credentials(fake_api.url),
        env_extra={"BOT_CHANNEL_STYLES": str(tmp / "styles.yml")},
    ) as running:
        yield running
    rasa_log = (tmp / "rasa.log").read_text(errors="replace")
    assert "Traceback" not in rasa_log, rasa_log[-4000:]
    assert TOKEN not in rasa_log and "<bot-token>" in rasa_log  # httpx logs each request
    assert "PC-482913?" not in rasa_log  # no customer text in the logs


def _post(bot: RunningBot, update: Any, secret: str | None = SECRET) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    return requests.post(
        f"{bot.url}/webhooks/telegram/webhook", data=body, headers=headers, timeout=10
    )


def _replies(
    fake: FakeTelegramServer, chat: int, count: int = 1, timeout: float = 90
) -> list[dict]:
    def enough(calls: list[ApiCall]) -> bool:
        sent = [
            c for c in calls if c.method == "sendMessage" and c.params.get("chat_id") == str(chat)
        ]
        return len(sent) >= count

    fake.api.wait_for(enough, timeout)
    return [c.params for c in fake.api.snapshot("sendMessage", chat)]


def _tracker_intents(
    bot: RunningBot, chat: int, expected: int = 0, timeout: float = 30
) -> list[str]:
    """The chat's user intents; waits until ``expected`` are stored (the tracker is saved
    after the replies go out)."""
    deadline = time.monotonic() + timeout
    while True:
        url = f"{bot.url}/conversations/telegram:{chat}/tracker"
        events = requests.get(url, timeout=10).json()["events"]
        intents = [e["parse_data"]["intent"]["name"] for e in events if e["event"] == "user"]
        if len(intents) >= expected or time.monotonic() > deadline:
            return intents
        time.sleep(0.2)


def _greetings() -> list[str]:
    responses = yaml.safe_load((ROOT / "domain" / "responses.yml").read_text())["responses"]
    return [v["text"] for v in responses["utter_greet"]]


def _new_chat() -> int:
    return next(_chat_ids)


def test_text_message_gets_an_html_reply(bot, fake_api):
    chat = _new_chat()
    response = _post(bot, text_update(next(_update_ids), chat, "where is my order PC-482913?"))
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    replies = _replies(fake_api, chat)
    assert all(r["parse_mode"] == "HTML" for r in replies)
    assert "PC-482913" in " ".join(visible_text(r["text"]) for r in replies)
    assert _tracker_intents(bot, chat, 1) == ["order_status"]


def test_start_greets_with_buttons(bot, fake_api):
    chat = _new_chat()
    _post(bot, text_update(next(_update_ids), chat, "/start"))
    [reply] = _replies(fake_api, chat)
    assert visible_text(reply["text"]) in _greetings()
    rows = json.loads(reply["reply_markup"])["inline_keyboard"]
    assert {"text": "Talk to a person", "callback_data": "/request_human"} in [r[0] for r in rows]
    assert _tracker_intents(bot, chat, 1) == ["greet"]


def test_help_answers_without_a_rasa_turn(bot, fake_api):
    chat = _new_chat()
    _post(bot, text_update(next(_update_ids), chat, "/help"))
    fake_api.api.wait_for(  # the help is longer than MESSAGE_LIMIT: several messages
        lambda calls: any(
            "/agent" in c.params.get("text", "") and c.params.get("chat_id") == str(chat)
            for c in calls
        ),
        30,
    )
    replies = _replies(fake_api, chat)
    assert len(replies) >= 2 and all(len(r["text"]) <= MESSAGE_LIMIT for r in replies)
    text = " ".join(visible_text(r["text"]) for r in replies)
    assert "track an order" in text and text.rstrip().endswith("/agent: talk to a person")
    assert _tracker_intents(bot, chat) == []


def test_agent_command_asks_for_a_human(bot, fake_api):
    chat = _new_chat()
    _post(bot, text_update(next(_update_ids), chat, "/agent"))
    replies = _replies(fake_api, chat)
    assert replies and all(visible_text(r["text"]) for r in replies)
    assert _tracker_intents(bot, chat, 1) == ["request_human"]


def test_button_press_is_answered_and_goes_to_rasa(bot, fake_api):
    chat = _new_chat()
    query = fake_api.api.issue_callback_query_id()
    keyboard = [[{"text": "Track my order", "callback_data": "/order_status"}]]
    _post(bot, callback_update(next(_update_ids), chat, query, "/order_status", keyboard=keyboard))
    fake_api.api.wait_for(
        lambda calls: any(
            c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query and c.ok
            for c in calls
        ),
        30,
    )
    replies = _replies(fake_api, chat)
    assert "order number" in visible_text(replies[0]["text"]).lower()
    assert _tracker_intents(bot, chat, 1) == ["order_status"]


@pytest.mark.parametrize(("secret", "status"), [(None, 401), ("not-the-secret", 403)])
def test_wrong_secret_is_rejected(bot, fake_api, secret, status):
    chat = _new_chat()
    response = _post(bot, text_update(next(_update_ids), chat, "hello"), secret=secret)
    assert response.status_code == status
    time.sleep(1)
    assert fake_api.api.snapshot(chat_id=chat) == []
    assert _tracker_intents(bot, chat) == []


@pytest.mark.parametrize("make", [sticker_update, photo_update])
def test_sticker_and_photo_get_a_text_only_reply(bot, fake_api, make):
    chat = _new_chat()
    assert _post(bot, make(next(_update_ids), chat)).status_code == 200
    [reply] = _replies(fake_api, chat)
    assert "only read text" in visible_text(reply["text"])
    assert _tracker_intents(bot, chat) == []


def test_edited_message_is_ignored(bot, fake_api):
    chat = _new_chat()
    response = _post(bot, edited_update(next(_update_ids), chat, "actually PC-730011"))
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    time.sleep(1)
    assert fake_api.api.snapshot(chat_id=chat) == [] and _tracker_intents(bot, chat) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{this is not json", 400),
        (b'"a string"', 400),
        (b'{"update_id": "x"}', 400),
        (json.dumps({"update_id": 1, "pad": "x" * 400_000}).encode(), 413),
    ],
)
def test_malformed_payload_is_4xx_and_the_server_stays_up(bot, fake_api, body, status):
    response = _post(bot, body)
    assert response.status_code == status and response.json()["ok"] is False
    assert requests.get(f"{bot.url}/status", timeout=10).status_code == 200
    chat = _new_chat()
    _post(bot, text_update(next(_update_ids), chat, "/help"))
    assert _replies(fake_api, chat)


def test_a_long_reply_is_split_into_valid_messages(bot, fake_api):
    chat = _new_chat()
    query = fake_api.api.issue_callback_query_id()
    _post(bot, callback_update(next(_update_ids), chat, query, "/payment_methods"))
    assert _tracker_intents(bot, chat, 1) == ["payment_methods"]
    replies = _replies(fake_api, chat, count=2)
    assert all(len(r["text"]) <= MESSAGE_LIMIT and r["parse_mode"] == "HTML" for r in replies)
    joined = " ".join(" ".join(visible_text(r["text"]).split()) for r in replies)
    responses = yaml.safe_load((ROOT / "domain" / "responses.yml").read_text())["responses"]
    variants = [" ".join(v["text"].split()) for v in responses["utter_payment_methods"]]
    best = max(difflib.SequenceMatcher(None, joined, v).ratio() for v in variants)
    assert best > 0.9, (joined, variants)


def test_every_call_was_accepted_by_the_fake_api(bot, fake_api):
    calls = fake_api.api.snapshot()
    assert calls, "no Bot API calls were made"
    refused = [c for c in calls if not c.ok]
    assert refused == []
    for call in fake_api.api.snapshot("sendMessage"):
        assert utf16_len(call.params["text"]) <= MESSAGE_LIMIT
