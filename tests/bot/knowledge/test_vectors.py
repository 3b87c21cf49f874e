import numpy as np
import pytest

from bot.knowledge.vectors import VectorIndex, unit_rows
from common.errors import ConfigError, TrainingDataError


def _random_unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    matrix = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_top_k_matches_a_full_sort():
    matrix = _random_unit(1000, 32)
    index = VectorIndex(matrix)
    query = _random_unit(1, 32, seed=1)[0]
    expected = np.argsort(-(matrix @ query), kind="stable")[:10]
    hits = index.search(query, 10)
    assert [row for row, _ in hits] == expected.tolist()
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert hits[0][1] == pytest.approx(float(matrix[expected[0]] @ query), abs=1e-6)


def test_the_nearest_row_is_itself():
    matrix = _random_unit(50, 8)
    index = VectorIndex(matrix)
    for row in (0, 17, 49):
        best, score = index.search(matrix[row], 1)[0]
        assert best == row
        assert score == pytest.approx(1.0, abs=1e-5)


def test_k_larger_than_the_index_returns_every_row_in_order():
    index = VectorIndex(np.eye(3, dtype=np.float32))
    hits = index.search(np.array([0.1, 0.9, 0.5], dtype=np.float32), 10)
    assert [row for row, _ in hits] == [1, 2, 0]
    assert index.search(np.ones(3, dtype=np.float32), 0) == []


def test_ties_go_to_the_lower_row():
    index = VectorIndex(np.array([[1, 0], [0, 1], [1, 0], [1, 0]], dtype=np.float32))
    assert [row for row, _ in index.search(np.array([1, 0]), 2)] == [0, 2]
    assert [row for row, _ in index.search(np.array([1, 0]), 4)] == [0, 2, 3, 1]
    many = VectorIndex(np.ones((1000, 4), dtype=np.float32))
    assert [row for row, _ in many.search(np.ones(4), 5)] == [0, 1, 2, 3, 4]


def test_queries_and_rows_are_normalised():
    index = VectorIndex(np.array([[3.0, 4.0], [0.0, 2.0]]))
    (row, score), _ = index.search(np.array([6.0, 8.0]), 2)
    assert row == 0 and score == pytest.approx(1.0)
    assert index.cosines(np.array([0.0, 5.0]), [0, 1]) == pytest.approx([0.8, 1.0])
    assert index.cosines(np.array([0.0, 5.0]), []) == []


def test_a_zero_query_matches_nothing():
    assert VectorIndex(np.eye(2)).search(np.zeros(2), 2) == []


def test_an_empty_index_finds_nothing():
    index = VectorIndex(np.zeros((0, 4), dtype=np.float32))
    assert len(index) == 0 and index.dim == 4
    assert index.search(np.ones(4), 5) == []


def test_a_query_of_another_dimension_is_a_config_error():
    with pytest.raises(ConfigError, match="3 dimensions, the knowledge index 2"):
        VectorIndex(np.eye(2)).search(np.ones(3), 1)


@pytest.mark.parametrize(
    "matrix",
    [np.ones(3), np.ones((2, 0)), np.array([[1.0, np.nan]]), np.array([[1.0, 0.0], [0.0, 0.0]])],
)
def test_bad_matrices_are_refused(matrix):
    with pytest.raises(TrainingDataError):
        unit_rows(matrix)


def test_save_and_load_round_trip(tmp_path):
    matrix = _random_unit(20, 16)
    index = VectorIndex(matrix)
    path = tmp_path / "vectors.npy"
    index.save(path)
    loaded = VectorIndex.load(path)
    query = _random_unit(1, 16, seed=3)[0]
    assert loaded.search(query, 5) == index.search(query, 5)
    assert not path.with_name("vectors.npy.tmp").exists()


def test_loading_a_missing_or_bad_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no knowledge vectors"):
        VectorIndex.load(tmp_path / "vectors.npy")
    (tmp_path / "junk.npy").write_bytes(b"junk")
    with pytest.raises(ConfigError):
        VectorIndex.load(tmp_path / "junk.npy")
    np.save(tmp_path / "nan.npy", np.array([[np.nan, 1.0]]))
    with pytest.raises(ConfigError, match="NaN"):
        VectorIndex.load(tmp_path / "nan.npy")
