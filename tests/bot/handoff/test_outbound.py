"""The outbound registry routes agents' replies and handoff states by channel namespace."""

from __future__ import annotations

import pytest

from bot.handoff.outbound import (
    HandoffState,
    OutboundRegistry,
    OutboundSender,
    UnknownChannelError,
    outbound_registry,
)


class RecordingSender:
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.texts: list[tuple[str, str, str]] = []
        self.states: list[tuple[str, HandoffState]] = []

    async def send_text(self, recipient_id: str, text: str, *, author: str = "agent") -> None:
        self.texts.append((recipient_id, text, author))

    async def send_handoff_state(self, recipient_id: str, state: HandoffState) -> None:
        self.states.append((recipient_id, state))


async def test_deliver_goes_through_the_senders_channel() -> None:
    registry = OutboundRegistry()
    slack, web = RecordingSender("slack"), RecordingSender("web")
    registry.register(slack)
    registry.register(web)
    assert isinstance(slack, OutboundSender)
    assert registry.channels() == ["slack", "web"]

    assert await registry.deliver("slack:T1:D2", "On it", author="bot") == "slack"
    await registry.notify_state("web:abc", "agent")

    assert slack.texts == [("T1:D2", "On it", "bot")]
    assert web.texts == []
    assert web.states == [("abc", "agent")]


async def test_register_replaces_the_channels_sender() -> None:
    registry = OutboundRegistry()
    first, second = RecordingSender("web"), RecordingSender("web")
    registry.register(first)
    registry.register(second)
    await registry.deliver("web:abc", "hi")
    assert (first.texts, second.texts) == ([], [("abc", "hi", "agent")])


@pytest.mark.parametrize("sender_id", ["telegram:42", "no-namespace"])
async def test_unknown_channel_is_a_404(sender_id: str) -> None:
    registry = OutboundRegistry()
    registry.register(RecordingSender("web"))
    with pytest.raises(UnknownChannelError) as info:
        await registry.deliver(sender_id, "hi")
    assert info.value.status_code == 404
    with pytest.raises(UnknownChannelError):
        await registry.notify_state(sender_id, "bot")


def test_the_process_shares_one_registry() -> None:
    assert outbound_registry() is outbound_registry()
