"""The REST channel credentials.yml opens: same URL as Rasa's, the channels' size limit."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rasa.core.channels import BUILTIN_CHANNELS
from rasa.core.channels.channel import InputChannel, UserMessage, register
from rasa.core.run import _create_single_channel
from rasa.shared.utils.common import class_from_module_path
from sanic import Sanic

from channels.base import DEFAULT_MAX_BODY_BYTES
from loopback.sanic_app import serve_app

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "/webhooks/rest/webhook"


class RecordingAgent:
    """Stands in for Rasa's agent: records each message and answers it."""

    def __init__(self) -> None:
        self.received: list[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        assert message.output_channel is not None
        await message.output_channel.send_text_message(message.sender_id or "", "got it")


def _channel_name(key: str) -> str:
    if key in BUILTIN_CHANNELS:
        return BUILTIN_CHANNELS[key].name()
    return str(class_from_module_path(key).name())


def rest_channel_from_credentials() -> InputChannel:
    """The channel the project's credentials.yml opens at /webhooks/rest/, built as Rasa does."""
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    rest = [
        _create_single_channel(key, options)
        for key, options in credentials.items()
        if _channel_name(key) == "rest"
    ]
    assert len(rest) == 1, sorted(credentials)
    assert rest[0].url_prefix() == "rest"
    return rest[0]


@asynccontextmanager
async def serve(channel: InputChannel) -> AsyncIterator[tuple[str, RecordingAgent]]:
    """Register ``channel`` as `rasa run` does, in a real Sanic server on loopback."""
    app = Sanic(f"rest_test_{uuid.uuid4().hex[:8]}")
    agent = RecordingAgent()
    app.ctx.agent = agent
    register([channel], app, route="/webhooks/")
    async with serve_app(app) as url:
        yield url, agent


def body(message: str, **extra: Any) -> bytes:
    return json.dumps({"sender": "me", "message": message, **extra}).encode("utf-8")


async def test_a_two_megabyte_message_is_refused_before_the_agent() -> None:
    async with serve(rest_channel_from_credentials()) as (url, agent):
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                url + WEBHOOK,
                content=body("x" * 2_000_000),
                headers={"Content-Type": "application/json"},
            )
    assert response.status_code == 413
    assert "error" in response.json()
    assert agent.received == []


async def test_a_normal_message_is_answered() -> None:
    async with serve(rest_channel_from_credentials()) as (url, agent):
        async with httpx.AsyncClient(timeout=30) as client:
            health = await client.get(url + "/webhooks/rest/")
            response = await client.post(url + WEBHOOK, content=body("where is my order?"))
    assert health.status_code == 200
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "me", "text": "got it"}]
    [message] = agent.received
    assert (message.text, message.sender_id, message.input_channel) == (
        "where is my order?",
        "me",
        "rest",
    )


async def test_the_limit_is_the_channels_default_and_configurable() -> None:
    from channels.rest import LimitedRestInput

    assert LimitedRestInput.from_credentials(None).max_body_bytes == DEFAULT_MAX_BODY_BYTES
    small = LimitedRestInput.from_credentials({"max_body_bytes": 100})
    async with serve(small) as (url, agent):
        async with httpx.AsyncClient(timeout=30) as client:
            at_limit = body("y" * (100 - len(body(""))))
            assert len(at_limit) == 100
            ok = await client.post(url + WEBHOOK, content=at_limit)
            too_big = await client.post(url + WEBHOOK, content=at_limit + b" ")
    assert (ok.status_code, too_big.status_code) == (200, 413)
    assert len(agent.received) == 1


@pytest.mark.parametrize("value", [0, -1])
def test_a_limit_below_one_byte_is_refused(value: int) -> None:
    from channels.rest import LimitedRestInput
    from common.errors import ConfigError

    with pytest.raises(ConfigError):
        LimitedRestInput.from_credentials({"max_body_bytes": value})
