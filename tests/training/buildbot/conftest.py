"""Fixtures for the build-bot tests: one real redactor per session, a fake sentence encoder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from common.privacy import Redactor
from tests.training.prepare.conftest import BagOfWordsEmbedder
from training.buildbot.pipeline import BuildOptions, BuildResult, build_bot

ROOT = Path(__file__).resolve().parents[3]
TRANSCRIPTS = ROOT / "tests" / "data" / "buildbot" / "transcripts.jsonl"

RunBuild = Callable[..., BuildResult]


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    return Redactor()


@pytest.fixture
def embedder() -> BagOfWordsEmbedder:
    return BagOfWordsEmbedder()


@pytest.fixture
def run_build(redactor: Redactor, embedder: BagOfWordsEmbedder) -> RunBuild:
    """Call build_bot with the shared redactor and the fake encoder."""

    def run(input: Path, out: Path, **kwargs: object) -> BuildResult:
        return build_bot(BuildOptions(input=input, out=out, **kwargs), embedder, redactor)  # type: ignore[arg-type]

    return run


def write_jsonl(path: Path, conversations: list[dict[str, object]]) -> Path:
    """Write conversations in the ingest JSONL layout."""
    path.write_text("".join(json.dumps(c) + "\n" for c in conversations), encoding="utf-8")
    return path


def conversation(cid: str, *turns: tuple[str, str, str | None]) -> dict[str, object]:
    """A conversation from ``(role, text, intent)`` triples."""
    return {
        "id": cid,
        "turns": [
            {"role": role, "text": text, **({"intent": intent} if intent else {})}
            for role, text, intent in turns
        ],
    }
