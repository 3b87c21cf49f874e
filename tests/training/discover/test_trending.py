"""Trending topics: week-over-week counts per cluster, and proposals the apply flow takes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common.privacy import RedactionConfig, Redactor
from training.discover.apply import apply_file
from training.discover.cluster import ClusterConfig
from training.discover.trending import WEEK, trending_topics, write_trending

UNTIL = 1_800_000_000.0


class WordsEmbedder:
    """Hashes words into 256 dimensions: texts with the same words get cosine 1."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                vectors[row, hashlib.md5(word.encode()).digest()[0]] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


def _messages() -> list[tuple[float, str]]:
    gift = [
        "do you sell gift cards",
        "gift cards for sale",
        "buy gift cards online",
        "gift cards balance",
        "are gift cards refundable",
        "gift cards by email",
    ]
    rent = ["can I rent a tent", "rent a tent please", "rent a tent for the weekend"]
    this_week = UNTIL - 0.5 * WEEK
    last_week = UNTIL - 1.5 * WEEK
    messages = [(this_week, f"{t} mail me at a{i}@example.com") for i, t in enumerate(gift)]
    messages += [(last_week, gift[0])]
    messages += [(last_week, t) for t in rent] + [(this_week, rent[0])]
    return messages


def test_growing_clusters_become_reviewable_intent_proposals(tmp_path: Path) -> None:
    redactor = Redactor(RedactionConfig(types=frozenset({"EMAIL"})))
    config = ClusterConfig(distance_threshold=0.6, min_cluster_size=2)
    topics, members = trending_topics(_messages(), UNTIL, WordsEmbedder(), redactor, config)
    by_terms = {("gift" in " ".join(t.key_terms)): t for t in topics}
    gift, rent = by_terms[True], by_terms[False]
    assert (gift.this_week, gift.last_week, gift.growth) == (6, 1, 5.0)
    assert (rent.this_week, rent.last_week) == (1, 3)
    assert topics[0] == gift  # grew the most
    assert all("@" not in m.text for m in members)

    topics_path, proposals, members_path = write_trending(tmp_path, topics, members)
    assert topics_path.exists() and members_path.exists()
    result = apply_file(proposals, tmp_path / "nlu.yml")
    assert list(result.intents) == [gift.name]  # only the growing topic is proposed
    assert "[EMAIL_1]" in (tmp_path / "nlu.yml").read_text()
