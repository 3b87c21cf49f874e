"""The Slack channel's converters, dedupe, payload checks and bolt wiring (no network)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlencode

import pytest
from rasa.core.channels.channel import UserMessage
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from channels.base import PayloadTooLargeError, outbound_registry
from channels.slack import (
    AGENT_PREFIX,
    SlackDeliveryError,
    SlackInput,
    SlackOutboundSender,
    SlackOutput,
    SlackSettings,
    _WithoutPayloads,
    check_payload,
)
from channels.slack_dedupe import RecentKeys
from channels.slack_events import (
    SlackAddress,
    button_blocks,
    inbound_from_action,
    inbound_from_event,
    strip_mentions,
    unformat_text,
)
from common.errors import BadRequestError, BotError, ConfigError
from loopback.fake_slack import BOT_USER_ID, FakeSlack

SECRET = "test-signing-secret"
BOT = BOT_USER_ID
TEAM = "T0001"


def _dm(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "channel": "D0001",
        "user": "U0001",
        "text": text,
        "ts": "1700000000.000100",
        **extra,
    }


def _mention(text: str = f"<@{BOT}> where is my order?", **extra: Any) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "channel": "C0001",
        "user": "U0002",
        "text": text,
        "ts": "1700000001.000200",
        **extra,
    }


# --- event -> (sender, text, metadata) ---------------------------------------------


def test_dm_is_one_conversation_per_dm_channel_answered_in_the_dm() -> None:
    inbound = inbound_from_event(_dm("hi &amp; bye"), team_id=TEAM, bot_user_id=BOT, event_id="Ev1")
    assert inbound is not None
    assert inbound.sender_id == "slack:T0001:D0001"
    assert inbound.address == SlackAddress(TEAM, "D0001", None)
    assert inbound.text == "hi & bye"
    assert inbound.metadata["channel"] == "slack"
    assert inbound.metadata["slack_channel"] == "D0001"
    assert inbound.metadata["event_id"] == "Ev1"
    assert "thread_ts" not in inbound.metadata
    assert "text" not in inbound.metadata


def test_dm_inside_a_thread_is_answered_in_that_thread() -> None:
    inbound = inbound_from_event(_dm(thread_ts="1699999999.000001"), team_id=TEAM, bot_user_id=BOT)
    assert inbound is not None
    assert inbound.sender_id == "slack:T0001:D0001:1699999999.000001"
    assert inbound.metadata["thread_ts"] == "1699999999.000001"


def test_mention_starts_a_thread_on_its_own_ts_and_loses_the_mention() -> None:
    inbound = inbound_from_event(_mention(), team_id=TEAM, bot_user_id=BOT)
    assert inbound is not None
    assert inbound.text == "where is my order?"
    assert inbound.address.thread_ts == "1700000001.000200"
    assert inbound.sender_id == "slack:T0001:C0001:1700000001.000200"
    assert inbound.metadata["thread_ts"] == "1700000001.000200"


def test_mention_inside_a_thread_stays_in_the_thread() -> None:
    inbound = inbound_from_event(
        _mention(thread_ts="1690000000.000009"), team_id=TEAM, bot_user_id=BOT
    )
    assert inbound is not None
    assert inbound.address.thread_ts == "1690000000.000009"


def test_team_falls_back_to_the_events_team() -> None:
    inbound = inbound_from_event(_dm(team="T0009"), team_id=None, bot_user_id=BOT)
    assert inbound is not None and inbound.address.team == "T0009"


@pytest.mark.parametrize(
    "event",
    [
        _dm(bot_id="B0001"),
        _dm(user=BOT),
        _dm(subtype="message_changed"),
        _dm(subtype="channel_join"),
        _dm(subtype="message_deleted"),
        _dm(subtype="bot_message"),
        _dm(channel_type="channel"),  # channel chatter without a mention
        {**_dm(), "user": None},
        {**_dm(), "ts": ""},
        {"type": "reaction_added", "user": "U1"},
    ],
    ids=[
        "bot",
        "own",
        "edit",
        "join",
        "delete",
        "bot-subtype",
        "channel-no-mention",
        "no-user",
        "no-ts",
        "other-type",
    ],
)
def test_events_that_must_not_be_answered(event: dict[str, Any]) -> None:
    assert inbound_from_event(event, team_id=TEAM, bot_user_id=BOT) is None


def test_file_share_from_a_person_is_answered() -> None:
    assert inbound_from_event(_dm(subtype="file_share"), team_id=TEAM, bot_user_id=BOT)


def test_same_message_under_two_event_types_has_one_dedupe_key() -> None:
    base = {"channel": "D0001", "ts": "1.2", "user": "U1", "text": f"<@{BOT}> hi"}
    as_message = inbound_from_event(
        {**base, "type": "message", "channel_type": "im"}, team_id=TEAM, bot_user_id=BOT
    )
    as_mention = inbound_from_event({**base, "type": "app_mention"}, team_id=TEAM, bot_user_id=BOT)
    assert as_message and as_mention
    assert as_message.dedupe_key == as_mention.dedupe_key


# --- mentions and markup -------------------------------------------------------------


def test_strip_mentions_removes_only_the_bot() -> None:
    text = f"<@{BOT}> ask <@U777|sam> about <@{BOT}|pinecrest>  it"
    assert strip_mentions(text, BOT) == "ask <@U777|sam> about it"


def test_strip_mentions_without_a_bot_id_strips_a_leading_mention_only() -> None:
    assert strip_mentions("<@UABC> hi <@UDEF>", None) == "hi <@UDEF>"
    assert strip_mentions("hi <@UDEF>", None) == "hi <@UDEF>"


def test_unformat_text_undoes_slack_markup() -> None:
    text = (
        "see <https://x.test/a?b=1&amp;c=2|x.test> or <mailto:a@b.test|a@b.test> <!here> 1 &lt; 2"
    )
    assert unformat_text(text) == "see https://x.test/a?b=1&c=2 or a@b.test 1 < 2"


def test_unformat_text_cannot_create_markup_from_escapes() -> None:
    assert unformat_text("&lt;@U1&gt;") == "<@U1>"


# --- addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", [SlackAddress("T1", "D1"), SlackAddress("T1", "C1", "1700.0001")]
)
def test_address_round_trips_through_its_sender_id(address: SlackAddress) -> None:
    assert SlackAddress.parse(address.sender_id) == address
    assert SlackAddress.parse(address.platform_id) == address


@pytest.mark.parametrize("bad", ["", "T1", "T1::", "T1:C1:1:2", "slack:"])
def test_bad_addresses_are_bad_requests(bad: str) -> None:
    with pytest.raises(BadRequestError):
        SlackAddress.parse(bad)


# --- button clicks ----------------------------------------------------------------------


def _click(thread_ts: str | None = "1700000001.000200", channel: str = "C0001") -> dict[str, Any]:
    message: dict[str, Any] = {"ts": "1700000002.000300", "text": "Hi"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "user": {"id": "U0002", "team_id": TEAM},
        "team": {"id": TEAM},
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel},
        "message": message,
        "actions": [
            {
                "type": "button",
                "action_id": "rasa_button_2",
                "value": "/request_human",
                "action_ts": "1700000003.1",
            }
        ],
    }


def test_click_in_a_thread_goes_back_to_that_threads_conversation() -> None:
    body = _click()
    inbound = inbound_from_action(body, body["actions"][0])
    assert inbound is not None
    assert inbound.text == "/request_human"
    assert inbound.sender_id == "slack:T0001:C0001:1700000001.000200"
    assert inbound.metadata["action_id"] == "rasa_button_2"


def test_click_in_a_dm_goes_back_to_the_dm_conversation() -> None:
    body = _click(thread_ts=None, channel="D0001")
    inbound = inbound_from_action(body, body["actions"][0])
    assert inbound is not None and inbound.sender_id == "slack:T0001:D0001"


def test_clicks_on_foreign_buttons_are_ignored() -> None:
    body = _click()
    assert inbound_from_action(body, {"action_id": "other", "value": "x"}) is None
    assert inbound_from_action({**body, "type": "view_submission"}, body["actions"][0]) is None


# --- blocks ---------------------------------------------------------------------------


def test_button_blocks_carry_payloads_as_values() -> None:
    blocks = button_blocks(
        "*Hi*", [{"title": "Track my order", "payload": "/order_status"}, {"title": "x" * 100}]
    )
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text": "*Hi*"}}
    elements = blocks[1]["elements"]
    assert [e["value"] for e in elements] == ["/order_status", "x" * 100]
    assert [e["action_id"] for e in elements] == ["rasa_button_0", "rasa_button_1"]
    assert len(elements[1]["text"]["text"]) == 75


def test_button_blocks_keep_at_most_25_buttons() -> None:
    blocks = button_blocks("t", [{"title": str(i), "payload": f"/p{i}"} for i in range(40)])
    assert len(blocks[1]["elements"]) == 25


# --- dedupe cache -----------------------------------------------------------------------


def test_recent_keys_forget_after_ttl() -> None:
    now = [100.0]
    keys = RecentKeys(ttl=60, clock=lambda: now[0])
    assert keys.first_time("Ev1")
    assert not keys.first_time("Ev1")
    now[0] += 59
    assert not keys.first_time("Ev1")
    now[0] += 2
    assert "Ev1" not in keys
    assert keys.first_time("Ev1")


def test_recent_keys_are_bounded() -> None:
    keys = RecentKeys(max_keys=3)
    for i in range(10):
        assert keys.first_time(f"k{i}")
    assert len(keys) == 3
    assert "k9" in keys and "k0" not in keys


# --- payload checks ----------------------------------------------------------------------


def test_check_payload_accepts_events_and_forms() -> None:
    check_payload(b'{"type": "event_callback"}', "application/json", 1000)
    form = urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
    check_payload(form, "application/x-www-form-urlencoded", 1000)
    check_payload(b"ssl_check=1&token=x", "application/x-www-form-urlencoded", 1000)


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b"{not json", "application/json", BadRequestError),
        (b"[1, 2]", "application/json", BadRequestError),
        (b"", "application/json", BadRequestError),
        (b"\xff\xfe", "application/json", BadRequestError),
        (b"x" * 2000, "application/json", PayloadTooLargeError),
        (b"payload=%7Bnope", "application/x-www-form-urlencoded", BadRequestError),
        (b"payload=%5B%5D", "application/x-www-form-urlencoded", BadRequestError),
        (b"payload=\xff", "application/x-www-form-urlencoded", BadRequestError),
    ],
    ids=["bad-json", "array", "empty", "not-utf8", "too-large", "form-bad", "form-array", "x"],
)
def test_check_payload_refuses(body: bytes, content_type: str, error: type[BotError]) -> None:
    with pytest.raises(error) as raised:
        check_payload(body, content_type, 1000)
    assert 400 <= raised.value.status_code < 500


# --- settings ---------------------------------------------------------------------------------


def test_settings_from_credentials_and_environment() -> None:
    settings = SlackSettings.from_credentials(
        {
            "signing_secret": "s",
            "api_base_url": "http://127.0.0.1:1/api",
            "rate_limit": {"burst": 2},
        },
        env={"SLACK_BOT_TOKEN": "xoxb-env"},
    )
    assert settings.bot_token == "xoxb-env"
    assert settings.api_base_url == "http://127.0.0.1:1/api"
    assert SlackInput(settings).rate_limiter.burst == 2


def test_settings_need_token_and_secret() -> None:
    with pytest.raises(ConfigError):
        SlackSettings.from_credentials({"bot_token": "xoxb"}, env={})
    with pytest.raises(ConfigError):
        SlackSettings.from_credentials(
            {"bot_token": "x", "signing_secret": "s", "dedupe_ttl_s": "z"}, env={}
        )


# --- log hygiene ----------------------------------------------------------------------------


def test_library_log_lines_lose_their_payloads() -> None:
    record = logging.LogRecord(
        "slack_bolt",
        logging.INFO,
        __file__,
        1,
        "Invalid request signature detected (signature: %s, body: %s)",
        ("v0=abc", '{"event": {"text": "my card is 4111"}}'),
        None,
    )
    assert _WithoutPayloads().filter(record)
    assert "4111" not in record.getMessage()
    assert record.getMessage().startswith("Invalid request signature detected")


# --- outbound: through the local fake Web API ---------------------------------------------


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def _client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.token, base_url=slack.base_url)


async def test_output_posts_adapted_mrkdwn_in_the_thread_with_buttons_last(
    slack: FakeSlack,
) -> None:
    client = _client(slack)
    output = SlackOutput(client, SlackAddress(TEAM, "C0001", "1700.1"))
    await output.send_response(
        "slack:T0001:C0001:1700.1",
        {
            "text": "Your order is **on its way** <soon>",
            "buttons": [{"title": "Talk to a person", "payload": "/request_human"}],
        },
    )
    posts = slack.posts()
    assert len(posts) == 1
    post = posts[0]
    assert post["channel"] == "C0001" and post["thread_ts"] == "1700.1" and post["mrkdwn"] is True
    assert "*on its way*" in post["text"] and "&lt;soon&gt;" in post["text"]
    blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
    assert blocks[1]["elements"][0]["value"] == "/request_human"


async def test_output_without_thread_posts_to_the_dm(slack: FakeSlack) -> None:
    client = _client(slack)
    await SlackOutput(client, SlackAddress(TEAM, "D0001")).send_text_message("x", "hello")
    assert slack.posts()[0]["channel"] == "D0001"
    assert "thread_ts" not in slack.posts()[0]


async def test_outbound_sender_marks_agents_and_posts_state_lines(slack: FakeSlack) -> None:
    client = _client(slack)
    sender = SlackOutboundSender(client)
    await sender.send_text(f"{TEAM}:C0001:1700.1", "I have **refunded** it", author="agent")
    await sender.send_text(f"{TEAM}:D0001", "hello", author="bot")
    await sender.send_handoff_state(f"{TEAM}:C0001:1700.1", "waiting")
    await sender.send_handoff_state(f"{TEAM}:C0001:1700.1", "agent")
    posts = slack.posts()
    assert posts[0]["text"].startswith(AGENT_PREFIX) and "*refunded*" in posts[0]["text"]
    assert posts[0]["thread_ts"] == "1700.1"
    assert not posts[1]["text"].startswith(AGENT_PREFIX) and posts[1]["channel"] == "D0001"
    assert len(posts) == 3 and "joined" in posts[2]["text"]


async def test_slack_refusals_and_outages_become_delivery_errors(slack: FakeSlack) -> None:
    wrong_token = AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url)
    with pytest.raises(SlackDeliveryError, match="invalid_auth") as refused:
        await SlackOutboundSender(wrong_token).send_text(f"{TEAM}:D0001", "hi")
    assert refused.value.status_code == 502
    unreachable = AsyncWebClient(token="xoxb-x", base_url="http://127.0.0.1:9/api/")
    with pytest.raises(SlackDeliveryError, match="could not be reached"):
        await SlackOutput(unreachable, SlackAddress(TEAM, "D0001")).send_text_message("x", "hi")


# --- the bolt app: real middleware, signed requests, the fake Web API ------------------------


def _signed_raw(
    raw: str, *, content_type: str = "application/json", retry: int | None = None, age_s: int = 0
) -> AsyncBoltRequest:
    timestamp = str(int(time.time()) - age_s)
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=raw)
    headers: dict[str, str | Sequence[str]] = {
        "content-type": content_type,
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature or "",
    }
    if retry is not None:
        headers["x-slack-retry-num"] = str(retry)
        headers["x-slack-retry-reason"] = "http_timeout"
    return AsyncBoltRequest(body=raw, headers=headers)


def _signed(body: dict[str, Any], *, retry: int | None = None, age_s: int = 0) -> AsyncBoltRequest:
    return _signed_raw(json.dumps(body), retry=retry, age_s=age_s)


def _envelope(event: dict[str, Any], event_id: str = "Ev0001") -> dict[str, Any]:
    return {"type": "event_callback", "team_id": TEAM, "event_id": event_id, "event": event}


Wired = tuple[SlackInput, AsyncApp, FakeSlack, list[UserMessage]]


@pytest.fixture
def wired(slack: FakeSlack) -> Wired:
    channel = SlackInput(SlackSettings(bot_token=slack.token, signing_secret=SECRET))
    client = _client(slack)
    received: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": "got it"})

    return channel, channel.bolt_app(client, on_new_message), slack, received


async def test_signed_dm_is_acked_then_answered_once_even_when_retried(wired: Wired) -> None:
    channel, app, slack, received = wired
    first = await app.async_dispatch(_signed(_envelope(_dm("hi"))))
    assert first.status == 200
    retry = await app.async_dispatch(_signed(_envelope(_dm("hi")), retry=1))
    assert retry.status == 200
    await channel.turns.drain(5)
    assert [m.text for m in received] == ["hi"]
    assert received[0].sender_id == "slack:T0001:D0001"
    assert received[0].input_channel == "slack"
    assert [p["channel"] for p in slack.posts()] == ["D0001"]


async def test_mention_and_button_click_reach_rasa_in_the_thread(wired: Wired) -> None:
    channel, app, slack, received = wired
    await app.async_dispatch(_signed(_envelope(_mention())))
    click = _click()
    form = urlencode({"payload": json.dumps(click)})
    request = _signed_raw(form, content_type="application/x-www-form-urlencoded")
    assert (await app.async_dispatch(request)).status == 200
    await channel.turns.drain(5)
    assert [m.text for m in received] == ["where is my order?", "/request_human"]
    assert {m.sender_id for m in received} == {"slack:T0001:C0001:1700000001.000200"}
    assert {p["thread_ts"] for p in slack.posts()} == {"1700000001.000200"}


async def test_bad_and_stale_signatures_are_401_and_never_reach_rasa(wired: Wired) -> None:
    channel, app, slack, received = wired
    tampered = _signed(_envelope(_dm("hi")))
    tampered.headers["x-slack-signature"] = ["v0=" + "0" * 64]
    assert (await app.async_dispatch(tampered)).status == 401
    stale = _signed(_envelope(_dm("hi"), "Ev0002"), age_s=6 * 60)
    assert (await app.async_dispatch(stale)).status == 401
    await channel.turns.drain(5)
    assert received == [] and slack.calls() == []


async def test_own_messages_and_edits_are_acked_but_ignored(wired: Wired) -> None:
    channel, app, slack, received = wired
    own = await app.async_dispatch(_signed(_envelope(_dm("echo", user=BOT, bot_id="BBOT1"), "Ev1")))
    edit = await app.async_dispatch(_signed(_envelope(_dm(subtype="message_changed"), "Ev2")))
    assert own.status == 200 and edit.status == 200
    await channel.turns.drain(5)
    assert received == []


async def test_rate_limited_sender_is_acked_and_dropped(slack: FakeSlack) -> None:
    channel = SlackInput(
        SlackSettings(
            bot_token=slack.token,
            signing_secret=SECRET,
            credentials={"rate_limit": {"rate": 0.001, "burst": 2}},
        )
    )
    received: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)

    app = channel.bolt_app(_client(slack), on_new_message)
    for i in range(4):
        event = _dm(f"m{i}", ts=f"1700000000.00010{i}")
        assert (await app.async_dispatch(_signed(_envelope(event, f"Ev{i}")))).status == 200
    await channel.turns.drain(5)
    assert [m.text for m in received] == ["m0", "m1"]


async def test_turns_finish_before_shutdown_completes(wired: Wired) -> None:
    channel, _, slack, _ = wired
    release = asyncio.Event()
    done: list[str] = []

    async def slow_turn(message: UserMessage) -> None:
        await release.wait()
        done.append(message.sender_id)

    app = channel.bolt_app(_client(slack), slow_turn)
    started = time.monotonic()
    assert (await app.async_dispatch(_signed(_envelope(_dm("hi"))))).status == 200
    assert time.monotonic() - started < 3.0  # acked before the turn ran
    assert len(channel.turns) == 1 and done == []
    asyncio.get_running_loop().call_later(0.05, release.set)
    await channel.turns.drain(5)
    assert done == ["slack:T0001:D0001"]


async def test_blueprint_registers_an_outbound_sender_that_reaches_the_thread(
    slack: FakeSlack,
) -> None:
    settings = SlackSettings(
        bot_token=slack.token, signing_secret=SECRET, api_base_url=slack.base_url
    )

    async def on_new_message(message: UserMessage) -> None:
        return None

    SlackInput(settings).blueprint(on_new_message)
    assert "slack" in outbound_registry().channels()
    via = await outbound_registry().deliver(f"slack:{TEAM}:C0001:1700.5", "On it", author="agent")
    assert via == "slack"
    [post] = slack.posts("C0001")
    assert post["thread_ts"] == "1700.5" and post["text"].startswith(AGENT_PREFIX)
