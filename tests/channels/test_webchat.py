"""The web chat channel: converters, validation, and a real socket.io server in process."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage

from channels.base import OutboundSender, PayloadTooLargeError, SenderRateLimiter, outbound_registry
from channels.webchat import WebChatInput, WebChatOutbound
from channels.webchat_protocol import (
    WebChatOptions,
    agent_events,
    bot_events,
    error_event,
    handoff_event,
    parse_user_uttered,
    session_id_from,
)
from common.errors import BadRequestError, BotError
from loopback.webchat_client import Client
from tests.support.webchat import WebChatServer, webchat_server

# --------------------------------------------------------------------------- server


@pytest.fixture
async def server() -> AsyncIterator[WebChatServer]:
    async with webchat_server() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    c = Client()
    yield c
    await c.close()


# --------------------------------------------------------------------------- converters


def test_bot_events_render_web_markdown_and_attach_buttons_to_the_last_text() -> None:
    events = bot_events(
        {
            "text": "Hi **there** <b>x</b>",
            "buttons": [{"title": "Yes", "payload": "/affirm"}, {"payload": "/no-title"}],
        }
    )
    assert events == [
        {
            "text": "Hi **there** &lt;b&gt;x&lt;/b&gt;",
            "buttons": [{"title": "Yes", "payload": "/affirm"}],
            "author": "bot",
        }
    ]


def test_bot_events_pass_quick_replies_images_attachments_and_custom_json() -> None:
    events = bot_events(
        {
            "text": None,
            "quick_replies": [{"title": "Go", "payload": "/go"}],
            "image": "https://img.example/boot.png",
            "custom": {"handoff": {"state": "waiting", "position": 2}},
            "attachment": {"type": "file", "payload": {"src": "https://f.example/a.pdf"}},
        },
        author="agent",
    )
    assert events == [
        {"text": "", "quick_replies": [{"title": "Go", "payload": "/go"}], "author": "agent"},
        {
            "attachment": {"type": "image", "payload": {"src": "https://img.example/boot.png"}},
            "author": "agent",
        },
        {
            "attachment": {"type": "file", "payload": {"src": "https://f.example/a.pdf"}},
            "author": "agent",
        },
        {"custom": {"handoff": {"state": "waiting", "position": 2}}, "author": "agent"},
    ]


def test_bot_events_use_what_the_nlg_endpoint_adapted_for_web() -> None:
    message = {
        "text": "raw text",
        "adapted": {"channel": "web", "format": "markdown", "messages": ["one", "two"]},
    }
    assert [e["text"] for e in bot_events(message)] == ["one", "two"]


def test_bot_events_do_not_change_the_message() -> None:
    message = {"text": "Hello", "buttons": [{"title": "A", "payload": "/a"}]}
    bot_events(message)
    assert message == {"text": "Hello", "buttons": [{"title": "A", "payload": "/a"}]}


def test_agent_events_carry_author_and_name_and_are_never_shortened() -> None:
    long_text = " ".join(f"Sentence number {i} is here." for i in range(80))
    [event] = agent_events(long_text, agent_name="Sam")
    assert event["author"] == "agent" and event["agent_name"] == "Sam"
    assert event["text"] == long_text
    [escaped] = agent_events("use <script>")
    assert escaped["text"] == "use &lt;script&gt;" and "agent_name" not in escaped
    assert agent_events("   ") == []
    [bot] = agent_events("hi", author="bot", agent_name="Sam")
    assert bot == {"text": "hi", "author": "bot"}


def test_handoff_event() -> None:
    assert handoff_event("waiting", 3) == {
        "custom": {"handoff": {"state": "waiting", "position": 3}},
        "author": "bot",
    }
    assert handoff_event("bot") == {"custom": {"handoff": {"state": "bot"}}, "author": "bot"}
    with pytest.raises(BadRequestError):
        handoff_event("lost")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- validation


def _parse(data: Any) -> Any:
    return parse_user_uttered(data, max_payload_bytes=200, max_message_chars=50)


def test_parse_user_uttered_accepts_a_message_and_its_metadata() -> None:
    got = _parse({"message": "  where is my order?  ", "metadata": '{"page": "/faq"}'})
    assert got.text == "where is my order?"
    assert got.client_metadata == {"page": "/faq"}
    assert _parse({"message": "hi"}).client_metadata is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"message": "x" * 51}, PayloadTooLargeError),
        ({"message": "hi", "metadata": {"blob": "y" * 300}}, PayloadTooLargeError),
        ("just a string", BadRequestError),
        ({"message": ""}, BadRequestError),
        ({"message": 42}, BadRequestError),
        ({"message": "hi", "metadata": [1, 2]}, BadRequestError),
        ({"message": "hi", "metadata": "{not json"}, BadRequestError),
    ],
)
def test_parse_user_uttered_refuses_bad_payloads(data: Any, error: type[BotError]) -> None:
    with pytest.raises(error):
        _parse(data)


def test_error_event_speaks_to_the_customer_without_echoing_them() -> None:
    event = error_event(PayloadTooLargeError("message of 9000 bytes"), max_message_chars=2000)
    assert event == {
        "error": "payload_too_large",
        "status": 413,
        "message": "That message is too long. Please keep it under 2000 characters.",
    }
    assert error_event(BadRequestError("x"), max_message_chars=1)["status"] == 400
    assert error_event(BotError("x"), max_message_chars=1)["error"] == "server_error"


def test_session_id_from_keeps_good_ids_and_replaces_bad_ones() -> None:
    assert session_id_from({"session_id": "abcDEF12-_"}) == "abcDEF12-_"
    for bad in [None, {}, {"session_id": None}, {"session_id": "../etc"}, {"session_id": "short"}]:
        new = session_id_from(bad)
        assert re.fullmatch(r"[0-9a-f]{32}", new)
    assert session_id_from(None) != session_id_from(None)


def test_options_from_credentials() -> None:
    assert WebChatOptions.from_credentials(None) == WebChatOptions()
    options = WebChatOptions.from_credentials(
        {"socketio_path": "chat/io/", "max_message_chars": 10, "short_paths": False}
    )
    assert options.socketio_path == "/chat/io"
    assert options.max_message_chars == 10 and not options.short_paths
    with pytest.raises(BotError):
        WebChatOptions.from_credentials({"max_payload_bytes": 0})


def test_input_channel_from_credentials() -> None:
    channel = WebChatInput.from_credentials({"rate_limit": {"rate": 2, "burst": 3}})
    assert isinstance(channel, WebChatInput)
    assert channel.name() == "web"
    assert (channel.rate_limiter.rate, channel.rate_limiter.burst) == (2.0, 3)
    assert channel.get_output_channel() is None  # no server before blueprint()


# --------------------------------------------------------------------------- live server


async def test_session_and_reply_round_trip(server: WebChatServer, client: Client) -> None:
    session_id = await client.connect(server.url)
    assert re.fullmatch(r"[0-9a-f]{32}", session_id)
    await client.say("hello <there>", metadata={"page": "/boots"})
    _, reply = await client.next("bot_uttered")
    assert reply == {
        "text": "You said **hello &lt;there&gt;**",
        "buttons": [
            {"title": "Track my order", "payload": "/order_status"},
            {"title": "Talk to a person", "payload": "/request_human"},
        ],
        "author": "bot",
    }
    assert await client.next("bot_typing") == ("bot_typing", {"typing": False})
    [message] = server.received
    assert message.sender_id == f"web:{session_id}"
    assert message.input_channel == "web"
    assert message.metadata == {"channel": "web", "client": {"page": "/boots"}}


async def test_a_reconnecting_client_keeps_its_session(server: WebChatServer) -> None:
    first, second = Client(), Client()
    try:
        session_id = await first.connect(server.url)
        await first.close()
        assert await second.connect(server.url, session_id) == session_id
        await second.say("again")
        _, reply = await second.next("bot_uttered")
        assert reply["text"] == "You said **again**"
        assert server.received[-1].sender_id == f"web:{session_id}"
    finally:
        await second.close()


async def test_replies_reach_every_socket_of_the_session(server: WebChatServer) -> None:
    tab1, tab2 = Client(), Client()
    try:
        session_id = await tab1.connect(server.url)
        await tab2.connect(server.url, session_id)
        await tab1.say("from tab one")
        _, reply = await tab2.next("bot_uttered")
        assert reply["text"] == "You said **from tab one**"
    finally:
        await tab1.close()
        await tab2.close()


async def test_outbound_sender_reaches_the_widget(server: WebChatServer, client: Client) -> None:
    session_id = await client.connect(server.url)
    registry = outbound_registry()
    assert "web" in registry.channels()
    assert isinstance(WebChatOutbound(server.channel._server()), OutboundSender)
    assert await registry.deliver(f"web:{session_id}", "Hi, I'm **Sam**.") == "web"
    _, event = await client.next("bot_uttered")
    assert event == {"text": "Hi, I'm **Sam**.", "author": "agent"}
    await registry.notify_state(f"web:{session_id}", "agent")
    _, event = await client.next("bot_uttered")
    assert event == {"custom": {"handoff": {"state": "agent"}}, "author": "bot"}
    sender = WebChatOutbound(server.channel._server())
    await sender.send_text(session_id, "Back to you.", author="agent", agent_name="Sam")
    await sender.send_handoff_state(session_id, "waiting", position=4)
    assert (await client.next("bot_uttered"))[1]["agent_name"] == "Sam"
    assert (await client.next("bot_uttered"))[1]["custom"]["handoff"] == {
        "state": "waiting",
        "position": 4,
    }


async def test_stopping_the_server_closes_sockets_cleanly(client: Client) -> None:
    async with webchat_server() as server:
        await client.connect(server.url)
    assert await client.next("engine_close") == ("engine_close", None)


async def test_rate_limited_sender_gets_a_polite_reply(client: Client) -> None:
    clock = [0.0]
    channel = WebChatInput(
        rate_limiter=SenderRateLimiter(rate=0.5, burst=2, clock=lambda: clock[0])
    )
    async with webchat_server(channel) as server:
        await client.connect(server.url)
        for text in ("one", "two", "three"):
            await client.say(text)
        replies = [(await client.next("bot_uttered"))[1]["text"] for _ in range(3)]
        assert replies[:2] == ["You said **one**", "You said **two**"]
        assert replies[2].startswith("You're sending messages faster than I can read them.")
        assert [m.text for m in server.received] == ["one", "two"]
        clock[0] += 2.0  # one token back
        await client.say("four")
        assert (await client.next("bot_uttered"))[1]["text"] == "You said **four**"


async def test_oversized_and_early_messages_get_an_error_event(client: Client) -> None:
    channel = WebChatInput(WebChatOptions(max_message_chars=20))
    async with webchat_server(channel) as server:
        await client.open(server.url)
        await client.say("before any session")
        _, error = await client.next("bot_error")
        assert error["status"] == 400
        await client.emit("session_request", {})
        await client.next("session_confirm")
        await client.say("x" * 21)
        _, error = await client.next("bot_error")
        assert error["error"] == "payload_too_large" and error["status"] == 413
        await client.emit("user_uttered", ["not", "an", "object"])
        assert (await client.next("bot_error"))[1]["error"] == "bad_request"
        await client.say("still alive")
        assert (await client.next("bot_uttered"))[1]["text"] == "You said **still alive**"
        assert [m.text for m in server.received] == ["still alive"]


async def test_a_failing_turn_reports_an_error_and_keeps_the_socket(client: Client) -> None:
    async def broken(message: UserMessage) -> None:
        raise RuntimeError("model exploded")

    async with webchat_server(handler=broken) as server:
        await client.connect(server.url)
        await client.say("hi")
        _, error = await client.next("bot_error")
        assert error["error"] == "server_error" and error["status"] == 500
        assert await client.next("bot_typing") == ("bot_typing", {"typing": False})
        assert client.connected


async def test_customer_text_never_reaches_the_logs(
    server: WebChatServer, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.connect(server.url)
    secret = "my card is 4111-1111-1111-1111"
    await client.say(secret)
    await client.next("bot_uttered")
    await client.say(secret * 200)
    await client.next("bot_error")
    assert caplog.records
    assert not [r for r in caplog.records if "4111" in r.getMessage()]


async def test_widget_demo_and_short_paths_are_served(server: WebChatServer) -> None:
    async with aiohttp.ClientSession() as http:
        for path, kind, marker in [
            ("/webhooks/web/widget.js", "application/javascript", "EIO=4"),
            ("/webhooks/web/widget.css", "text/css", ".pcw-log"),
            ("/widget.js", "application/javascript", "EIO=4"),
            ("/widget.css", "text/css", ".pcw-log"),
        ]:
            async with http.get(server.url + path) as resp:
                assert resp.status == 200, path
                assert resp.content_type == kind
                assert marker in await resp.text()
        for path in ("/webhooks/web/demo", "/widget"):
            async with http.get(server.url + path) as resp:
                page = await resp.text()
                assert resp.status == 200 and resp.content_type == "text/html"
                assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
                assert page.count("<script") == 1
                assert 'src="widget.js" data-socket-path="/socket.io"' in page
        async with http.get(server.url + "/webhooks/web/") as resp:
            assert await resp.json() == {"status": "ok"}


async def test_short_paths_can_be_turned_off() -> None:
    async with webchat_server(WebChatInput(WebChatOptions(short_paths=False))) as server:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + "/widget.js") as resp:
                assert resp.status == 404
            async with http.get(server.url + "/webhooks/web/widget.js") as resp:
                assert resp.status == 200
