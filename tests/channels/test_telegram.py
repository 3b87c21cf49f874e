"""The Telegram channel without a network: converters, keyboards, the webhook's logic.

python-telegram-bot talks to :class:`FakeBotApi` in-process (``FakeBotApiRequest``),
which checks HTML, lengths and keyboards as Telegram does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from channels.base import outbound_registry
from channels.telegram import (
    SECRET_HEADER,
    ChatTasks,
    TelegramInput,
    TelegramSettings,
)
from channels.telegram_convert import inbound_from_update, parse_command
from channels.telegram_keyboard import (
    MAX_CALLBACK_DATA_BYTES,
    TOKEN_PREFIX,
    CallbackPayloads,
    inline_keyboard,
)
from channels.telegram_output import (
    TelegramClient,
    TelegramDeliveryError,
    TelegramOutboundSender,
    TelegramOutput,
    chat_id_from_recipient,
    full_reply,
)
from common.errors import BadRequestError
from loopback.fake_telegram import (
    ApiError,
    FakeBotApi,
    FakeBotApiRequest,
    _reply_markup,
    callback_update,
    edited_update,
    message_update,
    photo_update,
    sticker_update,
    text_update,
    utf16_len,
    visible_text,
    voice_update,
)

TOKEN = "123456:TEST-token"
SECRET = "s3cret-Token_value"
CHAT = 4242
LONG_PAYLOAD = '/inform_order_number{"order_number": "PC-482913", "note": "' + "x" * 60 + '"}'


def _update(data: dict[str, Any]) -> Update:
    return Update.de_json(data, None)


# ----------------------------------------------------------------------- converters


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/start", "start"),
        ("/Help@PinecrestBot", "help"),
        ("/start ref42", "start"),
        ("  /agent  ", "agent"),
        ("/", None),
        ("hello /start", None),
        ("/ what", None),
        ('/inform{"a": 1}', None),
        ("/wéird", None),
    ],
)
def test_parse_command(text: str, command: str | None):
    assert parse_command(text) == command


def test_text_message_becomes_text():
    inbound = inbound_from_update(_update(text_update(10, CHAT, "where is my order?", 7)))
    assert (inbound.kind, inbound.chat_id, inbound.message_id) == ("text", CHAT, 7)
    assert inbound.text == "where is my order?" and inbound.update_id == 10


def test_intent_syntax_from_customers_is_an_unknown_command():
    inbound = inbound_from_update(_update(text_update(11, CHAT, '/inform{"order_number": "x"}')))
    assert (inbound.kind, inbound.command, inbound.text) == ("command", "", None)


def test_command_message_becomes_command():
    inbound = inbound_from_update(_update(text_update(11, CHAT, "/agent@PinecrestBot now")))
    assert (inbound.kind, inbound.command, inbound.text) == ("command", "agent", None)


@pytest.mark.parametrize(
    ("update", "detail"),
    [
        (sticker_update(12, CHAT), "sticker"),
        (photo_update(13, CHAT), "photo"),
        (photo_update(14, CHAT, caption="my torn boot"), "photo"),
        (voice_update(15, CHAT), "voice"),
    ],
)
def test_media_is_unsupported(update: dict[str, Any], detail: str):
    inbound = inbound_from_update(_update(update))
    assert (inbound.kind, inbound.detail, inbound.chat_id) == ("unsupported", detail, CHAT)
    assert inbound.text is None


def test_edited_message_is_edited():
    inbound = inbound_from_update(_update(edited_update(16, CHAT, "actually, PC-1", 3)))
    assert (inbound.kind, inbound.chat_id, inbound.message_id) == ("edited", CHAT, 3)
    assert inbound.text is None


def test_service_message_and_other_updates_are_ignored():
    joined = message_update(
        17, -100, new_chat_members=[{"id": 5, "is_bot": False, "first_name": "A"}]
    )
    assert inbound_from_update(_update(joined)).kind == "ignored"
    post = message_update(18, -1001, text="channel news")
    post["channel_post"] = post.pop("message")
    inbound = inbound_from_update(_update(post))
    assert (inbound.kind, inbound.detail, inbound.chat_id) == ("ignored", "channel_post", None)


def test_callback_query_carries_data_and_keyboard():
    keyboard = [[{"text": "Track my order", "callback_data": "/order_status"}]]
    inbound = inbound_from_update(
        _update(callback_update(19, CHAT, "q1", "/order_status", message_id=55, keyboard=keyboard))
    )
    assert (inbound.kind, inbound.callback_data, inbound.callback_query_id) == (
        "callback",
        "/order_status",
        "q1",
    )
    assert inbound.chat_id == CHAT and inbound.message_id == 55
    assert inbound.keyboard is not None
    assert inbound.keyboard.inline_keyboard[0][0].text == "Track my order"


# ------------------------------------------------------------------------ keyboards


def test_short_payloads_are_sent_as_they_are():
    payloads = CallbackPayloads()
    markup = inline_keyboard(
        [
            {"title": "Track my order", "payload": "/order_status"},
            {"title": "Talk to a person", "payload": "/request_human"},
        ],
        payloads,
    )
    assert markup is not None
    data = [row[0].callback_data for row in markup.inline_keyboard]
    assert data == ["/order_status", "/request_human"]
    assert _reply_markup({"reply_markup": markup.to_json()}) is not None


def test_long_payload_becomes_a_token_that_decodes_back():
    payloads = CallbackPayloads()
    assert len(LONG_PAYLOAD.encode()) > MAX_CALLBACK_DATA_BYTES
    markup = inline_keyboard([{"title": "That order", "payload": LONG_PAYLOAD}], payloads)
    assert markup is not None
    data = markup.inline_keyboard[0][0].callback_data
    assert isinstance(data, str) and data.startswith(TOKEN_PREFIX)
    assert len(data.encode()) <= MAX_CALLBACK_DATA_BYTES
    assert payloads.decode(data) == LONG_PAYLOAD
    assert payloads.encode(LONG_PAYLOAD) == data  # same payload, same token
    assert _reply_markup({"reply_markup": markup.to_json()}) is not None  # Telegram accepts it


def test_payload_size_is_counted_in_utf8_bytes():
    payloads = CallbackPayloads()
    fits = "é" * 32  # 64 bytes
    too_long = "é" * 33  # 66 bytes, 33 characters
    assert payloads.encode(fits) == fits
    assert payloads.encode(too_long).startswith(TOKEN_PREFIX)
    assert payloads.encode(TOKEN_PREFIX + "x").startswith(TOKEN_PREFIX + "0") is False
    assert payloads.decode(payloads.encode(TOKEN_PREFIX + "x")) == TOKEN_PREFIX + "x"


def test_forgotten_token_falls_back_to_the_buttons_title():
    payloads = CallbackPayloads(max_entries=1)
    first = payloads.encode(LONG_PAYLOAD)
    payloads.encode(LONG_PAYLOAD + "2")  # pushes the first out
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("That order", callback_data=first)]])
    assert payloads.decode(first, keyboard) == "That order"
    assert payloads.decode(first) is None


def test_keyboard_skips_untitled_buttons_and_keeps_links():
    payloads = CallbackPayloads()
    markup = inline_keyboard(
        [
            {"title": "", "payload": "/greet"},
            {"title": "Size guide", "url": "https://example.com/sizes"},
            {"title": "Yes please"},
            {"title": "T" * 80, "payload": "/affirm"},
        ],
        payloads,
    )
    assert markup is not None
    buttons = [row[0] for row in markup.inline_keyboard]
    assert [b.text for b in buttons][:2] == ["Size guide", "Yes please"]
    assert buttons[0].url == "https://example.com/sizes" and buttons[0].callback_data is None
    assert buttons[1].callback_data == "Yes please"
    assert len(buttons[2].text) == 64 and buttons[2].text.endswith("\u2026")
    assert inline_keyboard([], payloads) is None and inline_keyboard(None, payloads) is None


# ---------------------------------------------------------------- HTML and splitting


def test_long_reply_is_split_into_valid_html_chunks():
    paragraph = (
        "Your **order** <PC-482913> & the boots: see [our page](https://example.com/a?b=1&c=2). "
    )
    text = "\n\n".join(paragraph * 3 for _ in range(40))
    messages = full_reply(text)
    assert len(messages) > 1
    visible = [visible_text(m) for m in messages]  # raises like Telegram on bad HTML
    assert all(utf16_len(m) <= 4096 for m in messages)
    assert all("<b>order</b>" in m and "&lt;PC-482913&gt;" in m for m in messages)
    assert sum(v.count("<PC-482913>") for v in visible) == 120  # nothing dropped


def test_visible_text_rejects_what_telegram_rejects():
    for bad in ("<p>x</p>", "a < b", "<b>open", "fish & chips", "<b><i>x</b></i>"):
        with pytest.raises(ApiError):
            visible_text(bad)
    assert visible_text('<b>a</b> &amp; <a href="https://x.y">z</a>') == "a & z"


# ------------------------------------------------------------------ webhook, offline


class Harness:
    """A TelegramInput whose bot talks to an in-process FakeBotApi."""

    def __init__(self, **credentials: Any) -> None:
        self.api = FakeBotApi(TOKEN)
        creds = {"access_token": TOKEN, "secret_token": SECRET, **credentials}
        channel = TelegramInput.from_credentials(creds)
        assert isinstance(channel, TelegramInput)
        channel.client = TelegramClient(TOKEN, request=FakeBotApiRequest(self.api))
        channel.webhook.client = channel.client
        self.channel = channel
        self.received: list[UserMessage] = []
        self.reply: dict[str, Any] = {"text": "Got it: **thanks** <3", "buttons": []}

    async def on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)
        await message.output_channel.send_response(message.sender_id, dict(self.reply))

    async def post(self, update: Any, secret: str | None = SECRET) -> tuple[int, dict]:
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        result = await self.channel.webhook.handle(secret, body, self.on_new_message)
        await self.channel.webhook.tasks.drain(5)
        return result

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [c.params for c in self.api.snapshot(method) if c.ok]


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.mark.parametrize(("secret", "status"), [(None, 401), ("", 401), ("wrong", 403)])
async def test_wrong_or_missing_secret_is_rejected(harness: Harness, secret, status):
    result = await harness.post(text_update(1, CHAT, "hi"), secret=secret)
    assert result[0] == status and result[1]["ok"] is False
    assert harness.received == [] and harness.api.calls == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"message": {"text": "no update id"}}', 400),
        (b'{"update_id": 5, "message": {"text": "no chat"}}', 400),
        (b"\xff\xfe", 400),
        (json.dumps({"update_id": 1, "pad": "x" * 300_000}).encode(), 413),
    ],
)
async def test_malformed_or_oversized_bodies_are_4xx(harness: Harness, body: bytes, status: int):
    code, answer = await harness.post(body)
    assert code == status and answer["ok"] is False and answer["error"]
    assert harness.received == []


async def test_text_goes_to_rasa_and_the_reply_is_html(harness: Harness):
    code, answer = await harness.post(text_update(1, CHAT, "where is my order?", 9))
    assert (code, answer["status"]) == (200, "accepted")
    [message] = harness.received
    assert message.text == "where is my order?"
    assert message.sender_id == f"telegram:{CHAT}" and message.input_channel == "telegram"
    assert message.metadata == {
        "channel": "telegram",
        "chat_id": CHAT,
        "message_id": 9,
        "update_id": 1,
    }
    [sent] = harness.sent()
    assert sent["parse_mode"] == "HTML" and sent["chat_id"] == str(CHAT)
    assert sent["text"] == "Got it: <b>thanks</b> &lt;3"


async def test_buttons_become_an_inline_keyboard_on_the_last_message(harness: Harness):
    harness.reply = {
        "text": "Pick one.",
        "buttons": [
            {"title": "Track my order", "payload": "/order_status"},
            {"title": "That one", "payload": LONG_PAYLOAD},
        ],
    }
    await harness.post(text_update(1, CHAT, "hi"))
    [sent] = harness.sent()
    rows = json.loads(sent["reply_markup"])["inline_keyboard"]
    assert rows[0][0] == {"text": "Track my order", "callback_data": "/order_status"}
    assert rows[1][0]["callback_data"].startswith(TOKEN_PREFIX)


@pytest.mark.parametrize(
    ("command", "payload"), [("/start", "/greet"), ("/agent", "/request_human")]
)
async def test_start_and_agent_send_intents_to_rasa(harness: Harness, command: str, payload: str):
    await harness.post(text_update(1, CHAT, command))
    assert [m.text for m in harness.received] == [payload]


async def test_help_and_unknown_commands_answer_without_rasa(harness: Harness):
    await harness.post(text_update(1, CHAT, "/help"))
    await harness.post(text_update(2, CHAT, "/frobnicate"))
    assert harness.received == []
    help_text, unknown = (visible_text(p["text"]) for p in harness.sent())
    assert "/agent" in help_text and "track an order" in help_text
    assert unknown.startswith("Sorry, I don't know that command.") and "/help" in unknown


@pytest.mark.parametrize("make", [sticker_update, photo_update, voice_update])
async def test_media_gets_a_text_only_reply(harness: Harness, make):
    code, answer = await harness.post(make(1, CHAT))
    assert (code, answer["status"]) == (200, "accepted")
    assert harness.received == []
    [sent] = harness.sent()
    assert "only read text" in sent["text"] and sent["chat_id"] == str(CHAT)


async def test_edited_message_is_ignored(harness: Harness):
    code, answer = await harness.post(edited_update(1, CHAT, "changed my mind"))
    assert (code, answer["status"]) == (200, "ignored")
    assert harness.received == [] and harness.api.calls == []


async def test_button_press_is_answered_and_sent_to_rasa(harness: Harness):
    query = harness.api.issue_callback_query_id()
    await harness.post(callback_update(1, CHAT, query, "/order_status", message_id=77))
    [answered] = harness.sent("answerCallbackQuery")
    assert answered["callback_query_id"] == query and "text" not in answered
    [message] = harness.received
    assert message.text == "/order_status" and message.metadata["message_id"] == 77


async def test_long_payload_round_trips_through_a_button(harness: Harness):
    token = harness.channel.client.payloads.encode(LONG_PAYLOAD)
    query = harness.api.issue_callback_query_id()
    await harness.post(callback_update(1, CHAT, query, token))
    assert [m.text for m in harness.received] == [LONG_PAYLOAD]


async def test_expired_button_is_answered_with_a_notice(harness: Harness):
    query = harness.api.issue_callback_query_id()
    await harness.post(callback_update(1, CHAT, query, TOKEN_PREFIX + "0" * 32))
    [answered] = harness.sent("answerCallbackQuery")
    assert "expired" in answered["text"]
    assert harness.received == []


async def test_redelivered_update_is_processed_once(harness: Harness):
    update = text_update(1, CHAT, "hello")
    await harness.post(update)
    code, answer = await harness.post(update)
    assert (code, answer["status"]) == (200, "duplicate")
    assert len(harness.received) == 1


async def test_rate_limited_sender_is_dropped_with_200():
    harness = Harness(rate_limit={"rate": 0.001, "burst": 2})
    statuses = [(await harness.post(text_update(i, CHAT, "spam")))[1]["status"] for i in range(4)]
    assert statuses == ["accepted", "accepted", "rate_limited", "rate_limited"]
    assert len(harness.received) == 2
    assert (await harness.post(text_update(9, CHAT + 1, "hi")))[1]["status"] == "accepted"


async def test_turns_of_one_chat_keep_their_order(harness: Harness):
    order: list[str] = []

    async def slow_then_fast(message: UserMessage) -> None:
        await asyncio.sleep(0.2 if message.text == "first" else 0)
        order.append(message.text or "")

    webhook = harness.channel.webhook
    for i, text in enumerate(["first", "second"]):
        body = json.dumps(text_update(i, CHAT, text)).encode()
        await webhook.handle(SECRET, body, slow_then_fast)
    body = json.dumps(text_update(5, CHAT + 1, "other chat")).encode()
    await webhook.handle(SECRET, body, slow_then_fast)
    await webhook.tasks.drain(5)
    assert order == ["other chat", "first", "second"]


async def test_a_failing_turn_is_logged_and_later_turns_run(harness: Harness, caplog):
    seen: list[str] = []

    async def flaky(message: UserMessage) -> None:
        if message.text == "boom":
            raise RuntimeError("rasa failed")
        seen.append(message.text or "")

    webhook = harness.channel.webhook
    with caplog.at_level(logging.ERROR):
        for i, text in enumerate(["boom", "after"]):
            await webhook.handle(SECRET, json.dumps(text_update(i, CHAT, text)).encode(), flaky)
        await webhook.tasks.drain(5)
    assert seen == ["after"]
    assert "Telegram job for chat 4242 failed" in caplog.text and "boom" not in caplog.text


async def test_chat_tasks_drain_waits_for_running_jobs():
    tasks = ChatTasks()
    done: list[int] = []

    async def job() -> None:
        await asyncio.sleep(0.05)
        done.append(1)

    tasks.submit(job, 1)
    tasks.submit(job)
    assert len(tasks) == 2
    await tasks.drain(5)
    assert done == [1, 1] and len(tasks) == 0


async def test_no_customer_text_in_logs(harness: Harness, caplog):
    with caplog.at_level(logging.DEBUG):
        await harness.post(text_update(1, CHAT, "my secret address is 12 Elm Street"))
    assert harness.received and "Elm Street" not in caplog.text


# --------------------------------------------------------------- output & outbound


async def test_delivery_errors_are_translated():
    api = FakeBotApi("another-token")  # the bot's token is refused: 401
    client = TelegramClient(TOKEN, request=FakeBotApiRequest(api))
    with pytest.raises(TelegramDeliveryError) as error:
        await TelegramOutput(client).send_response(f"telegram:{CHAT}", {"text": "hi"})
    assert error.value.status_code == 502 and error.value.__cause__ is not None


def test_recipient_ids():
    assert chat_id_from_recipient("telegram:-1001") == -1001
    assert chat_id_from_recipient("42") == 42
    for bad in ("slack:C1", "telegram:abc"):
        with pytest.raises(BadRequestError):
            chat_id_from_recipient(bad)


async def test_image_and_text_only_buttons():
    api = FakeBotApi(TOKEN)
    output = TelegramOutput(TelegramClient(TOKEN, request=FakeBotApiRequest(api)))
    await output.send_response(
        f"telegram:{CHAT}",
        {
            "image": "https://example.com/boot.png",
            "buttons": [{"title": "Ok", "payload": "/affirm"}],
        },
    )
    [message] = [c.params for c in api.snapshot("sendMessage")]
    assert message["text"] == "Please choose:" and "reply_markup" in message
    assert [c.params["photo"] for c in api.snapshot("sendPhoto")] == [
        "https://example.com/boot.png"
    ]


async def test_blueprint_registers_the_outbound_sender_for_agents(harness: Harness):
    harness.channel.blueprint(harness.on_new_message)
    long_text = "I've checked with the warehouse. " * 200  # far over the 350-char budget
    await outbound_registry().deliver(f"telegram:{CHAT}", long_text, author="agent")
    texts = [p["text"] for p in harness.sent()]
    assert texts[0].startswith("<b>Agent:</b> I")
    assert len(texts) >= 2 and all(utf16_len(visible_text(t)) <= 4096 for t in texts)
    assert sum(visible_text(t).count("warehouse") for t in texts) == 200
    assert "telegram" in outbound_registry().channels()


async def test_outbound_bot_author_has_no_prefix_and_state_is_silent():
    api = FakeBotApi(TOKEN)
    sender = TelegramOutboundSender(TelegramClient(TOKEN, request=FakeBotApiRequest(api)))
    await sender.send_text(str(CHAT), "Back to the bot.", author="bot")
    await sender.send_handoff_state(str(CHAT), "agent")
    assert [c.params["text"] for c in api.snapshot()] == ["Back to the bot."]


def test_credentials_are_required_and_options_read():
    with pytest.raises(Exception, match="credentials"):
        TelegramInput.from_credentials({"access_token": TOKEN})
    with pytest.raises(Exception, match="credentials"):
        TelegramInput.from_credentials(None)
    settings = TelegramSettings.from_credentials(
        {
            "access_token": TOKEN,
            "secret_token": SECRET,
            "max_body_bytes": "1024",
            "api_base_url": "http://127.0.0.1:1",
        }
    )
    assert settings.max_body_bytes == 1024 and settings.api_base_url == "http://127.0.0.1:1"
    assert TelegramInput.name() == "telegram" and SECRET_HEADER.startswith("X-Telegram")


async def test_bot_token_never_reaches_the_logs(caplog):
    api = FakeBotApi(TOKEN)
    client = TelegramClient(TOKEN, request=FakeBotApiRequest(api))
    with caplog.at_level(logging.DEBUG):
        await client.send_messages(CHAT, ("hi",))
        logging.getLogger("httpx").info("HTTP Request: POST %s", f"http://x/bot{TOKEN}/sendMessage")
    assert "Set Bot API URL" in caplog.text and "<bot-token>" in caplog.text
    assert TOKEN not in caplog.text
