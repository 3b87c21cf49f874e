"""Shared fixtures: tiny intent data and the sample bot, trained once per cache key."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback.redis_server import redis_executable, start_redis, stop_redis

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

TINY_INTENTS: dict[str, list[str]] = {
    "greet": ["hello", "hi there", "good morning", "hey", "hello, anyone here?", "hiya"],
    "order_status": [
        "where is my order",
        "has my parcel shipped yet",
        "track my package",
        "when will my order arrive",
        "what's the status of my order",
        "is my delivery on its way",
    ],
    "request_refund": [
        "I want my money back",
        "please refund me",
        "can I get a refund",
        "refund my purchase",
        "I'd like a refund for the boots",
        "give me my money back",
    ],
}


@pytest.fixture(scope="session", autouse=True)
def _sanic_test_mode() -> None:
    """Let several in-process Sanic apps (channel and inbox tests) share one process.

    Sanic 21.12 refuses a second app, or a second server start, unless test mode is on,
    and mixing modes in one process breaks too; so it is on for the whole session.
    """
    from sanic import Sanic

    Sanic.test_mode = True


@pytest.fixture(scope="session")
def tiny_examples() -> tuple[list[str], list[str]]:
    texts = [t for examples in TINY_INTENTS.values() for t in examples]
    labels = [label for label, examples in TINY_INTENTS.items() for _ in examples]
    return texts, labels


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real redis-server on a free loopback port, for the whole session."""
    exe = redis_executable()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing in CI: `make test` must install it first")
        pytest.skip(
            "redis-server is not installed: run scripts/system_deps.sh "
            "(CI installs it) to run the Redis tests."
        )
    server = start_redis(exe, tmp_path_factory.mktemp("redis"))
    try:
        yield server.url
    finally:
        stop_redis(server)


def _tree_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        files = (
            sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            )
            if path.is_dir()
            else [path]
        )
        for f in files:
            digest.update(str(f.relative_to(ROOT)).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


KNOWLEDGE_BUILD_TIMEOUT_S = 900
SAMPLE_TRAIN_TIMEOUT_S = 2700
"""Limits of the sample bot's knowledge build and `rasa train` (pytest's own per-test limit
does not cover fixtures: ``timeout_func_only`` in pyproject.toml)."""


@pytest.fixture(scope="session")
def sample_bot_model() -> Path:
    """The sample bot trained by `rasa train`, cached under .cache/ by the hash of its inputs.

    ``SAMPLE_BOT_MODEL=/path/model.tar.gz`` uses that archive instead (for quick local runs).
    Concurrent test processes wait on a file lock instead of training twice.
    """
    override = os.environ.get("SAMPLE_BOT_MODEL")
    if override:
        return Path(override)
    inputs = [
        ROOT / "config.yml",
        ROOT / "domain",
        ROOT / "data",
        ROOT / "common",
        ROOT / "bot" / "nlu",
        ROOT / "bot" / "escalation",
        ROOT / "bot" / "nlg" / "generation",
        ROOT / "bot" / "knowledge",
        ROOT / "training" / "knowledge",
        ROOT / "scripts" / "build_knowledge.sh",
    ]
    key = _tree_hash([p for p in inputs if p.exists()])
    cache = ROOT / ".cache" / "test-models"
    cache.mkdir(parents=True, exist_ok=True)
    model = cache / f"pinecrest-{key}.tar.gz"
    with open(cache / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not model.is_file():
            _train_sample_bot(key, cache, model)
    return model


def _train_sample_bot(key: str, cache: Path, model: Path) -> None:
    out = cache / f"train-{key}"
    shutil.rmtree(out, ignore_errors=True)
    rasa = str(Path(sys.executable).with_name("rasa"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PY": sys.executable}
    # config.yml reads the knowledge chunks and answer examples from models/knowledge.
    subprocess.run(
        [str(ROOT / "scripts" / "build_knowledge.sh"), str(ROOT / "models" / "knowledge")],
        cwd=ROOT,
        check=True,
        env=env,
        timeout=KNOWLEDGE_BUILD_TIMEOUT_S,
    )
    subprocess.run(
        [
            rasa,
            "train",
            "--domain",
            "domain",
            "--data",
            "data",
            "--config",
            "config.yml",
            "--out",
            str(out),
            "--fixed-model-name",
            "pinecrest",
        ],
        cwd=ROOT,
        check=True,
        env=env,
        timeout=SAMPLE_TRAIN_TIMEOUT_S,
    )
    (out / "pinecrest.tar.gz").rename(model)
    shutil.rmtree(out, ignore_errors=True)
