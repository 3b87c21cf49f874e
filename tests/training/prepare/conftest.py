"""Fixtures for the prepare tests: one real redactor per session, a fake sentence encoder."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from common.privacy import Redactor
from training.ingest import IngestOptions
from training.prepare import PrepareOptions, PrepareResult, prepare

ROOT = Path(__file__).resolve().parents[3]
INGEST_FIXTURES = ROOT / "tests" / "training" / "ingest" / "fixtures"
DATA = ROOT / "tests" / "training" / "data"


class BagOfWordsEmbedder:
    """Hashes words into 256 dimensions: texts with the same words get cosine 1."""

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        vectors = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, hashlib.md5(word.encode()).digest()[0]] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    return Redactor()


@pytest.fixture
def embedder() -> BagOfWordsEmbedder:
    return BagOfWordsEmbedder()


RunPrepare = Callable[..., PrepareResult]


@pytest.fixture
def run_prepare(redactor: Redactor, embedder: BagOfWordsEmbedder) -> RunPrepare:
    """Call prepare with the shared redactor and the fake encoder."""

    def run(input: Path, out: Path, **kwargs: object) -> PrepareResult:
        kwargs.setdefault(
            "ingest",
            IngestOptions(
                support_domains=frozenset({"acme.test"}),
                slack_agent_user_ids=frozenset({"UAGENT"}),
            ),
        )
        options = PrepareOptions(input=input, out=out, **kwargs)  # type: ignore[arg-type]
        return prepare(options, redactor=redactor, embedder=embedder)

    return run
