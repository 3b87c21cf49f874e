"""The chunk vectors files: round trip, and a matrix from another run is refused."""

import numpy as np
import pytest

from bot.knowledge.chunk_vectors import ChunkVectors, read_chunk_vectors, write_chunk_vectors
from common.errors import TrainingDataError


def _vectors() -> ChunkVectors:
    matrix = np.eye(3, 4, dtype=np.float32)
    return ChunkVectors("minilm", matrix, {"h0": 0, "h1": 1, "h2": 2})


def test_round_trip(tmp_path):
    write_chunk_vectors(tmp_path, _vectors())
    back = read_chunk_vectors(tmp_path)
    assert back.model == "minilm" and back.rows == {"h0": 0, "h1": 1, "h2": 2}
    np.testing.assert_array_equal(back.vector("h1"), [0, 1, 0, 0])
    assert back.vector("missing") is None and back.dimension == 4
    assert not list(tmp_path.glob("*.tmp"))


def test_a_matrix_that_does_not_match_the_index_is_refused(tmp_path):
    write_chunk_vectors(tmp_path, _vectors())
    np.save(tmp_path / "embeddings.npy", np.ones((3, 4), dtype=np.float32))
    with pytest.raises(TrainingDataError, match="does not match"):
        read_chunk_vectors(tmp_path)


def test_missing_files_and_bad_rows_are_refused(tmp_path):
    with pytest.raises(TrainingDataError, match="no chunk vectors"):
        read_chunk_vectors(tmp_path)
    with pytest.raises(TrainingDataError, match="number the matrix rows"):
        ChunkVectors("m", np.zeros((2, 4), dtype=np.float32), {"a": 0, "b": 0})
