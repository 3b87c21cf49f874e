"""Trending topics: what customers newly ask that the bot does not understand.

Fallback and out-of-scope messages of the last two weeks (from the insights event store)
are redacted, de-duplicated, embedded and clustered with the discovery code; each cluster's
messages are counted per week. Clusters that grew week over week are the trending topics.
"Turn into an intent" is the existing review-and-apply flow: the growing clusters are
written as ``intents_proposed.yml`` (plus its members file), to review and then
``python -m training apply-intents``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.embeddings import Embedder
from common.privacy import Redactor
from training.discover.cluster import NOISE, ClusterConfig, cluster_embeddings, normalise
from training.discover.naming import key_terms, name_clusters
from training.discover.pipeline import MEMBERS_FILE, PROPOSALS_FILE, RESERVED_NAMES
from training.discover.proposals import (
    ClusterProposal,
    Member,
    Proposals,
    write_members,
    write_proposals,
)

WEEK = 7 * 86400.0
TOPICS_FILE = "topics.json"


@dataclass(frozen=True)
class Topic:
    """One cluster of not-understood messages.

    Attributes:
        cluster: Its number in the members file.
        name: The proposed intent name.
        this_week: Messages in the last 7 days.
        last_week: Messages in the 7 days before.
        key_terms: Its most distinctive terms.
        examples: Redacted members closest to the centroid.
    """

    cluster: int
    name: str
    this_week: int
    last_week: int
    key_terms: list[str]
    examples: list[str]

    @property
    def growth(self) -> float | None:
        """``this_week / last_week - 1``; ``None`` for a topic new this week."""
        return self.this_week / self.last_week - 1 if self.last_week else None

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "cluster": self.cluster,
            "name": self.name,
            "this_week": self.this_week,
            "last_week": self.last_week,
            "growth": self.growth,
            "key_terms": self.key_terms,
            "examples": self.examples,
        }


def trending_topics(
    messages: Sequence[tuple[float, str]],
    until: float,
    embedder: Embedder,
    redactor: Redactor,
    config: ClusterConfig | None = None,
    *,
    examples: int = 5,
) -> tuple[list[Topic], list[Member]]:
    """Cluster two weeks of messages and count each cluster per week.

    Args:
        messages: ``(timestamp, raw text)`` from ``until - 14 days`` to ``until``.
        until: End of the current week (Unix time).
        embedder: Sentence embeddings.
        redactor: PII redactor; nothing downstream sees unredacted text.
        config: Clustering settings.
        examples: Examples per topic.

    Returns:
        Every cluster as a topic (growing ones first, by added messages), and the members.
    """
    redacted = [r.text for r in redactor.redact_many([t for _, t in messages])]
    keys: list[str] = []
    first: dict[str, str] = {}
    for text in redacted:
        flat = " ".join(text.split())
        key = flat.casefold()
        keys.append(key)
        if flat:
            first.setdefault(key, flat)
    distinct = list(first.values())
    index = {k: i for i, k in enumerate(first)}
    if len(distinct) < 2:
        return [], [Member(NOISE, t, 1) for t in distinct]
    embeddings = embedder.encode(distinct)
    clustering = cluster_embeddings(np.asarray(embeddings), config or ClusterConfig())
    this_week: Counter[int] = Counter()
    last_week: Counter[int] = Counter()
    totals: Counter[int] = Counter()
    for (ts, _), key in zip(messages, keys, strict=True):
        if key not in index:
            continue
        label = int(clustering.labels[index[key]])
        totals[index[key]] += 1
        (this_week if ts >= until - WEEK else last_week)[label] += 1
    groups = [[distinct[i] for i in clustering.members(c)] for c in range(clustering.n_clusters)]
    noise = [distinct[i] for i in clustering.members(NOISE)]
    terms = key_terms(groups, background=noise)
    names = name_clusters(terms, groups, reserved=RESERVED_NAMES)
    x = normalise(np.asarray(embeddings))
    topics = [
        Topic(
            cluster=c,
            name=names[c],
            this_week=this_week[c],
            last_week=last_week[c],
            key_terms=terms[c],
            examples=[distinct[i] for i in clustering.representatives(x, c, examples)],
        )
        for c in range(clustering.n_clusters)
    ]
    topics.sort(key=lambda t: (-(t.this_week - t.last_week), -t.this_week, t.name))
    members = [
        Member(int(label), text, totals[i])
        for i, (label, text) in enumerate(zip(clustering.labels, distinct, strict=True))
    ]
    return topics, members


def write_trending(out_dir: Path, topics: Sequence[Topic], members: Sequence[Member]) -> list[Path]:
    """Write ``topics.json`` (all clusters) and the proposals of the growing ones.

    Returns:
        The written paths: topics, proposals, members.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    topics_path = out_dir / TOPICS_FILE
    growing = [t for t in topics if t.this_week > t.last_week]
    topics_path.write_text(
        json.dumps({"topics": [t.to_dict() for t in topics]}, indent=1), encoding="utf-8"
    )
    kept = {t.cluster for t in growing}
    proposals = Proposals(
        clusters=[
            ClusterProposal(
                id=t.cluster,
                name=t.name,
                size=sum(1 for m in members if m.cluster == t.cluster),
                messages=t.this_week + t.last_week,
                key_terms=t.key_terms,
                examples=t.examples,
            )
            for t in growing
        ],
        members_file=MEMBERS_FILE,
        unclustered=sum(1 for m in members if m.cluster not in kept),
        settings={"source": "trending fallback messages, last two weeks"},
    )
    proposals_path = out_dir / PROPOSALS_FILE
    members_path = out_dir / MEMBERS_FILE
    write_members(members_path, [m for m in members if m.cluster in kept])
    write_proposals(proposals_path, proposals)
    return [topics_path, proposals_path, members_path]
