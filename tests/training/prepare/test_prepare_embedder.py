"""The near-dedupe embedder: bf16 against fp32 on real sample-bot texts, its tuning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from common.embeddings import MiniLMEmbedder
from training.prepare.dedupe import near_dedupe, near_dedupe_embedder

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
    return near_dedupe_embedder(precision="fp32")


@pytest.fixture(scope="module")
def bf16(fp32: MiniLMEmbedder) -> MiniLMEmbedder:
    embedder = near_dedupe_embedder(precision="bf16")
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


def test_near_dedupe_embedder_is_tuned_for_the_cpu(fp32: MiniLMEmbedder) -> None:
    tuned = near_dedupe_embedder()
    assert (tuned._batch_size, tuned._max_seq_length, tuned._threads) == (128, 128, 1)
    assert tuned._precision == "auto"
    assert fp32.model.max_seq_length == 128
