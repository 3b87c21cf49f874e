"""The shared MiniLM embedder: options, unit rows, truncation, precision and threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from common.embeddings import MiniLMEmbedder, load_sentence_transformer
from common.errors import ConfigError


@pytest.fixture(scope="module")
def plain() -> MiniLMEmbedder:
    """The defaults, as grounding and intent discovery use them."""
    return MiniLMEmbedder().load()


@pytest.fixture(scope="module")
def fp32() -> MiniLMEmbedder:
    """Near-dedupe's tuning (128 word pieces, one thread) in float32."""
    return MiniLMEmbedder(batch_size=128, max_seq_length=128, precision="fp32", threads=1)


def test_rows_are_float32_unit_vectors_like_sentence_transformers_normalised(
    plain: MiniLMEmbedder,
) -> None:
    texts = ["where is my order", "I want a refund", "what are your opening hours"]
    vectors = plain.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    # What intent discovery and the response evaluation used to ask sentence-transformers for.
    reference = plain.model.encode(
        texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
    )
    assert np.array_equal(vectors, reference)
    # What grounding used to compute: raw vectors normalised with numpy.
    raw = plain.model.encode(texts, batch_size=64, show_progress_bar=False)
    grounding = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
    assert np.abs(vectors - grounding).max() < 1e-7
    assert plain.model.max_seq_length == 256  # the model's own limit is kept by default
    assert plain.encode([]).shape == (0, 384)


def test_short_texts_are_not_truncated_long_ones_are(fp32: MiniLMEmbedder) -> None:
    assert fp32.model.max_seq_length == 128
    short = "where is my order PC-123456?"
    long = short + " " + " ".join(["my parcel never arrived and nobody answers"] * 40)
    padded = long + " and also something different at the very end " * 5
    a, b, c = fp32.encode([short, long, padded])
    assert float(a @ b) < 0.95  # the short text is embedded whole
    assert float(b @ c) == pytest.approx(1.0, abs=1e-4)  # beyond 128 pieces nothing counts


def test_precision_is_checked() -> None:
    with pytest.raises(ConfigError, match="precision"):
        MiniLMEmbedder(precision="int8")
    assert MiniLMEmbedder(precision="fp32").bf16 is False
    assert MiniLMEmbedder(precision="bf16").bf16 is True
    with pytest.raises(ConfigError, match="batch_size"):
        MiniLMEmbedder(batch_size=0)


def test_encoding_uses_one_thread_and_restores_torch(
    fp32: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    before = torch.get_num_threads()
    seen: list[int] = []
    real_encode = fp32.model.encode

    def recording_encode(*args: object, **kwargs: object) -> object:
        seen.append(torch.get_num_threads())
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(fp32.model, "encode", recording_encode)
    fp32.encode(["where is my order", "cancel my order"])
    assert seen == [1]
    assert torch.get_num_threads() == before


def test_a_folder_without_a_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sentence encoder"):
        load_sentence_transformer(tmp_path)


def test_encode_matrix_checks_one_row_per_text():
    import numpy as np
    import pytest

    from common.embeddings import encode_matrix
    from common.errors import TrainingDataError

    class OneRowShort:
        def encode(self, texts):
            return np.ones((len(texts) - 1, 4))

    class Fine:
        def encode(self, texts):
            return np.ones((len(texts), 4), dtype=np.float64)

    assert encode_matrix(Fine(), []).shape == (0, 0)
    out = encode_matrix(Fine(), ["a", "b"])
    assert out.shape == (2, 4) and out.dtype == np.float32
    with pytest.raises(TrainingDataError, match=r"returned \(1, 4\) for 2 texts"):
        encode_matrix(OneRowShort(), ["a", "b"])
