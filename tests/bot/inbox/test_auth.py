"""UserStore.authenticate: an unknown user costs as much bcrypt work as a wrong password."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest

from bot.inbox.auth import UserStore
from bot.inbox.db import InboxDB

ROUNDS = 6  # not bcrypt's minimum (4), so a fixed low-cost dummy hash shows


def _cost(hashed: bytes) -> int:
    """The cost factor of a ``$2b$NN$...`` bcrypt hash."""
    prefix, version, cost, _ = hashed.split(b"$", 3)
    assert prefix == b"" and version.startswith(b"2"), hashed[:7]
    return int(cost)


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The hashes every bcrypt.checkpw call compares against."""
    hashes: list[bytes] = []
    real = bcrypt.checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        hashes.append(bytes(hashed))
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    return hashes


async def test_unknown_user_costs_the_same_as_a_wrong_password(
    tmp_path: Path, checked: list[bytes]
) -> None:
    store = UserStore(InboxDB(tmp_path / "inbox.db"), bcrypt_rounds=ROUNDS)
    await store.initialize()
    await store.add_user("alice", "alice-password", "agent")

    assert await store.authenticate("alice", "wrong-password") is None
    assert await store.authenticate("mallory", "any-password") is None

    wrong_password, unknown_user = checked
    assert _cost(wrong_password) == ROUNDS
    assert _cost(unknown_user) == _cost(wrong_password)


async def test_the_dummy_hash_is_made_once_and_lazily(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[int] = []
    real = bcrypt.gensalt

    def counting_gensalt(rounds: int = 12, prefix: bytes = b"2b") -> bytes:
        made.append(rounds)
        return real(rounds, prefix)

    monkeypatch.setattr(bcrypt, "gensalt", counting_gensalt)
    store = UserStore(InboxDB(tmp_path / "inbox.db"), bcrypt_rounds=ROUNDS)
    await store.initialize()
    assert made == []

    for _ in range(3):
        assert await store.authenticate("mallory", "any-password") is None
    assert made == [ROUNDS]
