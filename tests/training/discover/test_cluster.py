from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from common.errors import ConfigError
from training.discover import ClusterConfig, cluster_embeddings
from training.discover.cluster import NOISE


def blobs(centres: int, per: int, dim: int = 16, spread: float = 0.05, seed: int = 0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centres, dim))
    x = np.concatenate([m + spread * rng.normal(size=(per, dim)) for m in means])
    return x, np.repeat(np.arange(centres), per)


def test_minilm_clusters_recover_clear_groups(embedder, grouped):
    texts, labels = grouped
    x = embedder.encode(texts)
    result = cluster_embeddings(x, ClusterConfig(min_cluster_size=3))
    assert normalized_mutual_info_score(labels, result.labels) >= 0.8
    assert 3 <= result.n_clusters <= 8


def test_target_cluster_count_recovers_the_groups(embedder, grouped):
    texts, labels = grouped
    result = cluster_embeddings(embedder.encode(texts), ClusterConfig(n_clusters=4))
    assert result.n_clusters == 4
    assert normalized_mutual_info_score(labels, result.labels) >= 0.9


@pytest.mark.parametrize("linkage", ["average", "complete", "ward"])
def test_linkages_separate_well_apart_blobs(linkage):
    x, y = blobs(5, 20)
    result = cluster_embeddings(x, ClusterConfig(n_clusters=5, linkage=linkage))
    assert normalized_mutual_info_score(y, result.labels) == pytest.approx(1.0)


def test_sampling_assigns_the_rest_to_the_nearest_centroid():
    x, y = blobs(4, 250)
    result = cluster_embeddings(x, ClusterConfig(sample_size=100, min_cluster_size=3))
    assert result.sampled == 100
    assert len(result.labels) == 1000
    assert result.noise_fraction == 0.0
    assert normalized_mutual_info_score(y, result.labels) == pytest.approx(1.0)


def test_far_points_outside_the_sample_become_noise_only_when_bounded():
    x, _ = blobs(2, 100, dim=32)
    strays = np.random.default_rng(7).normal(size=(5, 32))  # unrelated directions
    x = np.concatenate([x, strays])
    bounded = ClusterConfig(sample_size=50, min_cluster_size=3, assign_max_distance=0.5)
    assert list(cluster_embeddings(x, bounded).labels[200:]) == [NOISE] * 5
    unbounded = cluster_embeddings(x, ClusterConfig(sample_size=50, min_cluster_size=3))
    assert (unbounded.labels[200:] != NOISE).any()
    assert unbounded.n_clusters == 2


def around(axis: int, count: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    """Points near one basis vector: groups on different axes are orthogonal."""
    rng = np.random.default_rng(seed)
    return np.eye(dim)[axis] + 0.05 * rng.normal(size=(count, dim))


def test_small_clusters_become_noise_and_clusters_are_sorted_by_size():
    x = np.concatenate([around(0, 12), around(1, 2)])
    result = cluster_embeddings(x, ClusterConfig(min_cluster_size=3))
    assert result.n_clusters == 1
    assert list(result.labels[12:]) == [NOISE, NOISE]
    assert result.noise_fraction == pytest.approx(2 / 14)

    x = np.concatenate([around(2, 3), around(3, 9)])
    sorted_result = cluster_embeddings(x, ClusterConfig(min_cluster_size=1))
    assert list(sorted_result.labels[3:]) == [0] * 9
    assert list(sorted_result.labels[:3]) == [1] * 3


def test_representatives_are_closest_to_the_centroid_first():
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.6, 0.4], [0.95, 0.05]])
    result = cluster_embeddings(x, ClusterConfig(n_clusters=1, min_cluster_size=1))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    reps = result.representatives(unit, 0, 4)
    sims = unit[reps] @ result.centroids[0]
    assert list(sims) == sorted(sims, reverse=True)
    assert reps[-1] == 2


def test_empty_and_single_inputs():
    assert cluster_embeddings(np.zeros((0, 4))).n_clusters == 0
    one = cluster_embeddings(np.ones((1, 4)), ClusterConfig(min_cluster_size=1))
    assert list(one.labels) == [0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"linkage": "single"},
        {"n_clusters": 0},
        {"distance_threshold": 0},
        {"min_cluster_size": 0},
        {"sample_size": 1},
    ],
)
def test_bad_settings_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        ClusterConfig(**kwargs)


def test_linkage_defaults_to_average_for_a_cut_and_ward_for_a_count():
    assert ClusterConfig().method == "average"
    assert ClusterConfig(n_clusters=3).method == "ward"
    assert ClusterConfig(n_clusters=3, linkage="complete").method == "complete"
