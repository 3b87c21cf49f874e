"""The near-dedupe embedder: bf16 against fp32 on real sample-bot texts, truncation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from common.errors import ConfigError
from training.prepare.dedupe import MiniLMEmbedder, near_dedupe

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """The sample bot's NLU examples, with case and filler variants as near duplicates."""
    examples: list[str] = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                if line.strip().startswith("- "):
                    examples.append(line.strip()[2:])
    examples = examples[:300]
    variants = [f"hi, {t} please" for t in examples[::3]] + [t.upper() for t in examples[1::5]]
    return examples + variants


@pytest.fixture(scope="module")
def fp32() -> MiniLMEmbedder:
    return MiniLMEmbedder(precision="fp32")


@pytest.fixture(scope="module")
def bf16(fp32: MiniLMEmbedder) -> MiniLMEmbedder:
    embedder = MiniLMEmbedder(precision="bf16")
    embedder._model = fp32.model  # one load; precision is applied per encode call
    return embedder


def test_bf16_similarities_and_decisions_match_fp32(
    texts: list[str], fp32: MiniLMEmbedder, bf16: MiniLMEmbedder
) -> None:
    reference, fast = fp32.encode(texts), bf16.encode(texts)
    assert fast.dtype == np.float32
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    upper = np.triu_indices(len(texts), 1)
    drift = np.abs((fast @ fast.T)[upper] - (reference @ reference.T)[upper])
    assert drift.max() < 0.01, drift.max()
    kept_fp32 = set(near_dedupe(texts, fp32, 0.95))
    kept_bf16 = set(near_dedupe(texts, bf16, 0.95))
    assert len(kept_fp32) < len(texts)  # the variants are caught
    assert len(kept_fp32 ^ kept_bf16) <= 0.01 * len(texts)


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
