"""The CLI's default number of PII-detection processes."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from training.prepare import cli


def test_small_input_runs_in_process(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": "1"}\n')
    assert cli.auto_workers(tmp_path) == 1
    assert cli.auto_workers(tmp_path / "a.jsonl") == 1


def test_large_input_gets_one_worker_per_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
    nested = tmp_path / "exports" / "2024"
    nested.mkdir(parents=True)
    (nested / "big.jsonl").write_bytes(b"x" * cli.AUTO_WORKERS_MIN_BYTES)
    assert cli.auto_workers(tmp_path) == cli.AUTO_WORKERS_MAX
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert cli.auto_workers(tmp_path) == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert cli.auto_workers(tmp_path) == 1


def test_explicit_workers_win(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    (tmp_path / "big.jsonl").write_bytes(b"x" * cli.AUTO_WORKERS_MIN_BYTES)
    args = parser.parse_args(["--input", str(tmp_path), "--out", str(tmp_path / "o")])
    assert cli.options_from_args(args).workers == cli.auto_workers(tmp_path)
    args = parser.parse_args(["--input", str(tmp_path), "--workers", "1"])
    assert cli.options_from_args(args).workers == 1


def test_a_worker_holds_torch_and_blas_to_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers with a torch pool each on two cores made the redaction 2.5 times slower."""
    import torch

    from training.prepare.redact import _init_worker

    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        torch.set_num_threads(2)
        _init_worker()
        assert os.environ["OMP_NUM_THREADS"] == "1"
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
