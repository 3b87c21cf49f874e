"""Building the index from a chunks folder: stored vectors by key, embedding what is missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.knowledge.answerability import ANSWERABILITY_FILE, AnswerabilityModel
from bot.knowledge.build import build_from_folder, folder_fingerprint
from bot.knowledge.chunk_vectors import VECTORS_FILE, VECTORS_INDEX_FILE
from bot.knowledge.chunks import CHUNKS_FILE, Chunk, write_chunks
from common.errors import TrainingDataError
from tests.support.generation import HashingEmbedder
from tests.support.knowledge import CountingEmbedder, write_chunks_folder
from tests.support.retrieval import SAMPLE_CHUNKS, FixedDimEmbedder, SynonymEmbedder


class OneHotEmbedder:
    """Gives chunk ``i`` of :data:`SAMPLE_CHUNKS` the unit vector e_i (dimension 16)."""

    def encode(self, texts: list[str]) -> np.ndarray:
        position = {c.embedding_text(): i for i, c in enumerate(SAMPLE_CHUNKS)}
        vectors = np.zeros((len(texts), 16), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row, position[text]] = 1.0
        return vectors


def test_stored_vectors_are_used_by_key_and_nothing_is_embedded(tmp_path: Path) -> None:
    folder = write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS, OneHotEmbedder())
    embedder = CountingEmbedder(OneHotEmbedder())
    built = build_from_folder(folder, embedder)
    assert (built.chunks, built.reused, built.embedded, built.reason) == (8, 8, 0, "")
    assert embedder.texts == []
    for i in range(len(SAMPLE_CHUNKS)):
        query = np.eye(16, dtype=np.float32)[i]
        assert built.index.vectors.cosines(query, [i]) == [pytest.approx(1.0)]
    built.index.close()


def test_without_vectors_every_chunk_is_embedded(tmp_path: Path) -> None:
    folder = write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS)
    embedder = CountingEmbedder(SynonymEmbedder())
    built = build_from_folder(folder, embedder)
    assert (built.reused, built.embedded) == (0, 8)
    assert "--no-embed" in built.reason
    assert embedder.texts == [c.embedding_text() for c in SAMPLE_CHUNKS]
    assert built.index.search("laundering a puffer", 1)[0].chunk == SAMPLE_CHUNKS[0]
    built.index.close()


def test_vectors_of_another_model_are_not_used(tmp_path: Path) -> None:
    folder = write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS, HashingEmbedder(), "other")
    embedder = CountingEmbedder(HashingEmbedder())
    built = build_from_folder(folder, embedder)
    assert built.embedded == 8 and "another model (other)" in built.reason
    assert len(embedder.texts) == 8
    built.index.close()


def test_unreadable_vectors_are_not_used(tmp_path: Path) -> None:
    folder = write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS, HashingEmbedder())
    (folder / VECTORS_FILE).write_bytes(b"not numpy")
    built = build_from_folder(folder, HashingEmbedder())
    assert built.embedded == 8 and "could not be read" in built.reason
    built.index.close()


def test_only_chunks_without_a_stored_vector_are_embedded(tmp_path: Path) -> None:
    folder = write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS[:-1], HashingEmbedder())
    write_chunks(folder / CHUNKS_FILE, SAMPLE_CHUNKS)  # one chunk added after embedding
    embedder = CountingEmbedder(HashingEmbedder())
    built = build_from_folder(folder, embedder)
    assert (built.reused, built.embedded) == (7, 1)
    assert embedder.texts == [SAMPLE_CHUNKS[-1].embedding_text()]
    assert "1 of 8" in built.reason
    query = HashingEmbedder().encode([SAMPLE_CHUNKS[3].embedding_text()])[0]
    assert built.index.vectors.cosines(query, [3]) == [pytest.approx(1.0, abs=1e-5)]
    built.index.close()


def test_stored_vectors_of_another_size_mean_embedding_everything(tmp_path: Path) -> None:
    folder = write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS[:-1], FixedDimEmbedder(8))
    write_chunks(folder / CHUNKS_FILE, SAMPLE_CHUNKS)
    embedder = CountingEmbedder(HashingEmbedder())
    built = build_from_folder(folder, embedder)
    assert built.embedded == 8 and built.index.dim == 256
    assert "8 dimensions" in built.reason
    built.index.close()


def test_a_folder_without_chunks_says_how_to_make_them(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="does not exist.*python -m training kb"):
        build_from_folder(tmp_path / "nowhere", HashingEmbedder())
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainingDataError, match=f"has no {CHUNKS_FILE}.*python -m training kb"):
        build_from_folder(tmp_path / "empty", HashingEmbedder())


def test_an_empty_chunks_file_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    write_chunks(folder / CHUNKS_FILE, [])
    with pytest.raises(TrainingDataError, match="holds no chunks"):
        build_from_folder(folder, HashingEmbedder())


def test_fingerprint_follows_every_input_file(tmp_path: Path) -> None:
    folder = write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS, HashingEmbedder())
    first = folder_fingerprint(folder)
    assert folder_fingerprint(folder) == first
    edited = Chunk.build("x#0", "x", "X", "", "A new passage about gaiters.", "x")
    write_chunks(folder / CHUNKS_FILE, [*SAMPLE_CHUNKS, edited])
    second = folder_fingerprint(folder)
    assert second != first
    write_chunks_folder(folder, SAMPLE_CHUNKS[:3], HashingEmbedder())
    write_chunks(folder / CHUNKS_FILE, [*SAMPLE_CHUNKS, edited])
    assert folder_fingerprint(folder) not in (first, second)  # only the vectors changed
    (folder / VECTORS_INDEX_FILE).unlink()
    assert len({folder_fingerprint(folder), first, second}) == 3
    assert folder_fingerprint(tmp_path / "nowhere") != first


def test_a_fitted_answerability_model_in_the_folder_goes_into_the_index(tmp_path: Path) -> None:
    folder = write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS, OneHotEmbedder())
    before = folder_fingerprint(folder)
    plain = build_from_folder(folder, OneHotEmbedder())
    assert plain.index.answerability is None
    plain.index.close()
    AnswerabilityModel(3.0, 7.0, -4.0, 50).save(folder / ANSWERABILITY_FILE)
    # Fitting a new model retrains the knowledge node.
    assert folder_fingerprint(folder) != before
    fitted = build_from_folder(folder, OneHotEmbedder())
    assert fitted.index.answerability == AnswerabilityModel(3.0, 7.0, -4.0, 50)
    fitted.index.close()
    (folder / ANSWERABILITY_FILE).write_text("nonsense", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="answerability"):
        build_from_folder(folder, OneHotEmbedder())
