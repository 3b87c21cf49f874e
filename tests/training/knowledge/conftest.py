"""Fixtures for the knowledge-ingest tests: a redactor without spaCy, a counting embedder."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pytest

from common.privacy import Detection, Redactor
from training.knowledge.redact import knowledge_redaction_config


class AnnaNames:
    """A name finder that takes every 'Anna' for a person."""

    def find_many(self, texts: Sequence[str]) -> list[list[Detection]]:
        return [
            [Detection("PERSON", i, i + 4, "anna")] if (i := t.find("Anna")) >= 0 else []
            for t in texts
        ]


class CountingEmbedder:
    """Deterministic unit vectors from a text's hash; records every text it embeds."""

    def __init__(self, dimension: int = 8) -> None:
        self.dimension = dimension
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.seen += texts
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
            row = np.random.default_rng(seed).standard_normal(self.dimension)
            rows.append(row / np.linalg.norm(row))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dimension)


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    return Redactor(knowledge_redaction_config(names=True), name_finder=AnnaNames())


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()
