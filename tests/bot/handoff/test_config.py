"""Reading `handoff_queue:` from the endpoints file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.handoff.config import DEFAULT_QUEUE_CONFIG, handoff_queue_config
from common.errors import ConfigError


def test_reads_the_key(tmp_path: Path) -> None:
    file = tmp_path / "endpoints.yml"
    file.write_text("handoff_queue:\n  type: redis\n  url: redis://h:1/0\n", encoding="utf-8")
    assert handoff_queue_config(file) == {"type": "redis", "url": "redis://h:1/0"}


def test_env_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "other.yml"
    file.write_text("handoff_queue:\n  type: sqlite\n  path: x.db\n", encoding="utf-8")
    monkeypatch.setenv("BOT_ENDPOINTS", str(file))
    assert handoff_queue_config() == {"type": "sqlite", "path": "x.db"}


def test_missing_file_or_key_gives_the_sqlite_default(tmp_path: Path) -> None:
    assert handoff_queue_config(tmp_path / "absent.yml") == DEFAULT_QUEUE_CONFIG
    file = tmp_path / "endpoints.yml"
    file.write_text("action_endpoint:\n  url: http://x\n", encoding="utf-8")
    assert handoff_queue_config(file) == {"type": "sqlite", "path": ".cache/handoff.db"}


@pytest.mark.parametrize(
    ("text", "problem"), [("handoff_queue: [1]\n", "mapping"), ("a: [unclosed\n", "YAML")]
)
def test_bad_files(tmp_path: Path, text: str, problem: str) -> None:
    file = tmp_path / "endpoints.yml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        handoff_queue_config(file)
