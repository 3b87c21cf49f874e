"""Sender ids are ``<channel>:<platform id>`` on every channel."""

from __future__ import annotations

import pytest

from bot.sender_id import namespaced_sender_id, split_sender_id
from common.errors import BadRequestError


def test_namespaced_sender_id_adds_the_channel_once() -> None:
    assert namespaced_sender_id("slack", " T1:D2 ") == "slack:T1:D2"
    assert namespaced_sender_id("slack", "slack:T1:D2") == "slack:T1:D2"


def test_empty_platform_id_is_a_bad_request() -> None:
    with pytest.raises(BadRequestError):
        namespaced_sender_id("web", "  ")


@pytest.mark.parametrize(
    ("sender_id", "parts"),
    [
        ("slack:T1:D2", ("slack", "T1:D2")),
        ("telegram:42", ("telegram", "42")),
        ("plain", ("", "plain")),
        ("web:", ("", "web:")),
    ],
)
def test_split_sender_id(sender_id: str, parts: tuple[str, str]) -> None:
    assert split_sender_id(sender_id) == parts
