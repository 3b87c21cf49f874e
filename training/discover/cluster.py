"""Agglomerative clustering of sentence embeddings, scaled by sampling.

Up to ``sample_size`` points are clustered with scikit-learn's
:class:`~sklearn.cluster.AgglomerativeClustering` (cosine distance with average or complete
linkage, or Ward on the unit vectors); the rest go to the nearest centroid. Clusters with
fewer than ``min_cluster_size`` members become noise (label ``-1``, "unclustered").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from common.errors import ConfigError

logger = logging.getLogger(__name__)

NOISE = -1
LINKAGES = ("average", "complete", "ward")


@dataclass(frozen=True)
class ClusterConfig:
    """How to cluster.

    Attributes:
        n_clusters: A target number of clusters; None cuts the tree at ``distance_threshold``.
        distance_threshold: Where to cut the tree: a cosine distance for ``average`` and
            ``complete`` linkage, a Ward merge cost for ``ward``.
        linkage: ``average``, ``complete`` or ``ward``; None (default) picks ``average`` when
            cutting by distance and ``ward`` for a target count (``average`` with a fixed
            count leaves outliers as tiny clusters, measured in bench/intent_discovery.py).
        min_cluster_size: Smaller clusters become noise.
        sample_size: At most this many points are clustered; the rest are assigned to the
            nearest centroid (agglomerative clustering needs memory quadratic in the sample).
        assign_max_distance: A point outside the sample whose cosine distance to the nearest
            centroid is larger becomes noise; None assigns every point.
        seed: Seeds the sample.
    """

    n_clusters: int | None = None
    distance_threshold: float = 0.55
    linkage: str | None = None
    min_cluster_size: int = 5
    sample_size: int = 10_000
    assign_max_distance: float | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        if self.linkage is not None and self.linkage not in LINKAGES:
            raise ConfigError(f"linkage must be one of {list(LINKAGES)}, not {self.linkage!r}")
        if self.n_clusters is not None and self.n_clusters < 1:
            raise ConfigError("n_clusters must be at least 1")
        if self.distance_threshold <= 0:
            raise ConfigError("distance_threshold must be positive")
        if self.min_cluster_size < 1:
            raise ConfigError("min_cluster_size must be at least 1")
        if self.sample_size < 2:
            raise ConfigError("sample_size must be at least 2")

    @property
    def method(self) -> str:
        """The linkage actually used."""
        if self.linkage is not None:
            return self.linkage
        return "average" if self.n_clusters is None else "ward"


@dataclass(frozen=True)
class Clustering:
    """The result: a label per point and a centroid per cluster.

    Attributes:
        labels: One label per input point; clusters are numbered ``0..k-1`` by size,
            largest first, and noise is ``-1``.
        centroids: ``(k, dim)`` unit-length centroids, in label order.
        sampled: How many points were clustered directly (the rest were assigned).
    """

    labels: np.ndarray
    centroids: np.ndarray
    sampled: int

    @property
    def n_clusters(self) -> int:
        """The number of clusters, noise excluded."""
        return int(self.centroids.shape[0])

    @property
    def noise_fraction(self) -> float:
        """The share of points labelled noise."""
        return float(np.mean(self.labels == NOISE)) if len(self.labels) else 0.0

    def members(self, cluster: int) -> np.ndarray:
        """Indices of a cluster's points (``-1`` for noise), in input order."""
        return np.flatnonzero(self.labels == cluster)

    def representatives(self, embeddings: np.ndarray, cluster: int, k: int) -> list[int]:
        """The ``k`` members closest to the cluster's centroid, closest first.

        Args:
            embeddings: The unit-length embeddings that were clustered.
            cluster: A cluster label (not noise).
            k: How many.

        Returns:
            Point indices.
        """
        idx = self.members(cluster)
        sims = embeddings[idx] @ self.centroids[cluster]
        order = np.argsort(-sims, kind="stable")[:k]
        return [int(i) for i in idx[order]]


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Scale rows to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float32)


def _centroids(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    sums = np.zeros((k, x.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, x)
    return normalise(sums)


def _fit_sample(x: np.ndarray, config: ClusterConfig) -> np.ndarray:
    if len(x) < 2:
        return np.zeros(len(x), dtype=np.int64)
    affinity = "euclidean" if config.method == "ward" else "cosine"
    if config.n_clusters is not None:
        model = AgglomerativeClustering(
            n_clusters=min(config.n_clusters, len(x)), affinity=affinity, linkage=config.method
        )
    else:
        model = AgglomerativeClustering(
            n_clusters=None,
            distance_threshold=config.distance_threshold,
            affinity=affinity,
            linkage=config.method,
            compute_full_tree=True,
        )
    return np.asarray(model.fit_predict(x), dtype=np.int64)


def cluster_embeddings(embeddings: np.ndarray, config: ClusterConfig | None = None) -> Clustering:
    """Cluster embeddings.

    Args:
        embeddings: ``(n, dim)`` vectors; they are normalised here.
        config: Settings; defaults if None.

    Returns:
        The clustering.
    """
    config = config or ClusterConfig()
    x = normalise(np.asarray(embeddings, dtype=np.float32))
    n = len(x)
    if n == 0:
        return Clustering(np.zeros(0, dtype=np.int64), np.zeros((0, x.shape[1])), 0)
    rng = np.random.default_rng(config.seed)
    if n > config.sample_size:
        sample = np.sort(rng.choice(n, size=config.sample_size, replace=False))
    else:
        sample = np.arange(n)
    labels = np.full(n, NOISE, dtype=np.int64)
    labels[sample] = _fit_sample(x[sample], config)
    k = int(labels[sample].max()) + 1
    centroids = _centroids(x[sample], labels[sample], k)
    rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
    if len(rest):
        sims = x[rest] @ centroids.T
        nearest = np.argmax(sims, axis=1)
        if config.assign_max_distance is not None:
            far = 1.0 - sims[np.arange(len(rest)), nearest] > config.assign_max_distance
            nearest = np.where(far, NOISE, nearest)
        labels[rest] = nearest
    sizes = np.bincount(labels[labels != NOISE], minlength=k)
    kept = [c for c in np.argsort(-sizes, kind="stable") if sizes[c] >= config.min_cluster_size]
    remap = np.full(k + 1, NOISE, dtype=np.int64)  # last slot maps NOISE (-1) to itself
    for new, old in enumerate(kept):
        remap[old] = new
    labels = remap[labels]
    centroids = _centroids(x[labels != NOISE], labels[labels != NOISE], len(kept))
    result = Clustering(labels, centroids, len(sample))
    logger.info(
        "clustered %d points (%d sampled): %d clusters, %.1f%% noise",
        n,
        len(sample),
        result.n_clusters,
        100 * result.noise_fraction,
    )
    return result
