"""``python -m bot.inbox add-user``: bcrypt-hashed users with roles."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import bcrypt
import pytest

from bot.inbox.users_cli import main


def test_add_user_hashes_the_password_and_updates_the_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "inbox.db"
    monkeypatch.setattr("sys.stdin", io.StringIO("first-password\n"))
    assert main(["add-user", "carol", "--role", "agent", "--db", str(db), "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("second-password\n"))
    assert main(["add-user", "carol", "--role", "admin", "--db", str(db), "--password-stdin"]) == 0
    rows = sqlite3.connect(db).execute("SELECT username, role, password_hash FROM users").fetchall()
    assert [(name, role) for name, role, _ in rows] == [("carol", "admin")]
    hashed = bytes(rows[0][2])
    assert b"second-password" not in hashed
    assert bcrypt.checkpw(b"second-password", hashed)
    assert not bcrypt.checkpw(b"first-password", hashed)


@pytest.mark.parametrize(("name", "password"), [("Bad Name", "long-enough"), ("dave", "short")])
def test_add_user_refuses_bad_names_and_short_passwords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, password: str
) -> None:
    db = tmp_path / "inbox.db"
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    assert main(["add-user", name, "--db", str(db), "--password-stdin"]) == 2
