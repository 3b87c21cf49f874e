"""The intent benchmark's system runner: every run trains, none reloads a cached model."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from training.evaluate import intents


def test_each_system_trains_with_rasas_training_cache_off(monkeypatch, tmp_path: Path):
    calls: list[dict[str, Any]] = []

    def fake_run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append({"args": args, **kwargs})
        Path(args[-1]).write_text(json.dumps({"train_seconds": 1.0}), encoding="utf-8")
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(intents.subprocess, "run", fake_run)
    monkeypatch.setenv("RASA_MAX_CACHE_SIZE", "1000")
    pipeline = [{"name": "WhitespaceTokenizer"}]
    out = intents._run_system("diet", pipeline, tmp_path / "nlu.yml", ["hi"], tmp_path)
    assert out == {"train_seconds": 1.0}
    (call,) = calls
    assert call["env"]["RASA_MAX_CACHE_SIZE"] == "0"
    assert call["env"]["HF_HUB_OFFLINE"] == "1"
    assert call["check"] is True
