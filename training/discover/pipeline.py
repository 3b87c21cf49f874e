"""From customer messages to proposed intents: redact, dedupe, embed, cluster, name."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from common.embeddings import Embedder
from common.privacy import Redactor
from training.discover.cluster import (
    NOISE,
    ClusterConfig,
    Clustering,
    cluster_embeddings,
    normalise,
)
from training.discover.naming import key_terms, name_clusters
from training.discover.proposals import (
    ClusterProposal,
    Member,
    Proposals,
    write_members,
    write_proposals,
)

logger = logging.getLogger(__name__)

PROPOSALS_FILE = "intents_proposed.yml"
MEMBERS_FILE = "intents_members.jsonl"
RESERVED_NAMES = ("unclustered", "nlu_fallback", "out_of_scope")


@dataclass(frozen=True)
class DiscoveryResult:
    """Everything :func:`discover` found.

    Attributes:
        proposals: The review file's content.
        members: Every distinct redacted text with its cluster.
        clustering: Labels and centroids, indexed like ``members``.
    """

    proposals: Proposals
    members: list[Member]
    clustering: Clustering


def redact_and_dedupe(texts: Sequence[str], redactor: Redactor) -> tuple[list[str], list[int]]:
    """Redact every text, then merge texts that are equal up to case and spacing.

    Args:
        texts: Raw customer messages.
        redactor: The PII redactor (each text gets its own placeholder numbering).

    Returns:
        The distinct redacted texts (first spelling kept) and how often each occurred.
    """
    redacted = [r.text for r in redactor.redact_many(texts)]
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for text in redacted:
        flat = " ".join(text.split())
        if not flat:
            continue
        key = flat.casefold()
        first.setdefault(key, flat)
        counts[key] += 1
    return list(first.values()), [counts[k] for k in first]


def discover(
    texts: Sequence[str],
    embedder: Embedder,
    redactor: Redactor,
    config: ClusterConfig | None = None,
    *,
    examples: int = 5,
    key_term_count: int = 6,
) -> DiscoveryResult:
    """Cluster customer messages into proposed intents.

    Nothing downstream of this function sees unredacted text: messages are redacted first.

    Args:
        texts: Raw customer messages (e.g. conversation openers).
        embedder: Sentence embeddings (normally :class:`MiniLMEmbedder`).
        redactor: PII redactor.
        config: Clustering settings; defaults if None.
        examples: Representative examples per cluster in the review file.
        key_term_count: Key terms per cluster.

    Returns:
        The proposals, the members and the clustering.
    """
    config = config or ClusterConfig()
    distinct, counts = redact_and_dedupe(texts, redactor)
    logger.info("%d messages, %d distinct after redaction", len(texts), len(distinct))
    embeddings = embedder.encode(distinct)
    clustering = cluster_embeddings(embeddings, config)
    x = normalise(embeddings)
    groups = [[distinct[i] for i in clustering.members(c)] for c in range(clustering.n_clusters)]
    noise = [distinct[i] for i in clustering.members(NOISE)]
    terms = key_terms(groups, top_n=key_term_count, background=noise)
    names = name_clusters(terms, groups, reserved=RESERVED_NAMES)
    proposals = []
    for c in range(clustering.n_clusters):
        idx = clustering.members(c)
        proposals.append(
            ClusterProposal(
                id=c,
                name=names[c],
                size=len(idx),
                messages=int(sum(counts[i] for i in idx)),
                key_terms=terms[c],
                examples=[distinct[i] for i in clustering.representatives(x, c, examples)],
            )
        )
    noise_idx = clustering.members(NOISE)
    noise_sample = sorted(noise_idx, key=lambda i: -counts[i])[:examples]
    settings = {k: v for k, v in asdict(config).items() if v is not None}
    settings["linkage"] = config.method
    settings["messages"] = len(texts)
    settings["distinct"] = len(distinct)
    members = [
        Member(int(label), text, n)
        for label, text, n in zip(clustering.labels, distinct, counts, strict=True)
    ]
    return DiscoveryResult(
        Proposals(
            clusters=proposals,
            members_file=MEMBERS_FILE,
            unclustered=len(noise_idx),
            unclustered_examples=[distinct[i] for i in noise_sample],
            settings=settings,
        ),
        members,
        clustering,
    )


def write_discovery(result: DiscoveryResult, out_dir: Path) -> tuple[Path, Path]:
    """Write ``intents_proposed.yml`` and ``intents_members.jsonl`` into ``out_dir``.

    Returns:
        The two paths.
    """
    proposals_path = out_dir / PROPOSALS_FILE
    members_path = out_dir / result.proposals.members_file
    write_members(members_path, result.members)
    write_proposals(proposals_path, result.proposals)
    return proposals_path, members_path
