"""Fixtures: SmolLM2's tokenizer, a hashing embedder, a tiny trained generator.

The sample pairs and the embedder are in tests/support/generation.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import PreTrainedTokenizerBase

from bot.nlg.generation import checkpoint
from bot.nlg.generation.fine_tune import GenerationTrainConfig
from bot.nlg.generation.generator import GeneratorOptions
from bot.nlg.generation.model import load_tokenizer
from tests.support.generation import SAMPLE_PAIRS, HashingEmbedder

TINY_TRAIN = GenerationTrainConfig(
    base_model="tiny-random",
    method="full",
    epochs=4,
    batch_size=3,
    learning_rate=3e-3,
    max_prompt_tokens=96,
    max_target_tokens=24,
    grounding_k=1,
    grounding_min_score=0.1,
    progress=False,
    device="cpu",
)
TINY_OPTIONS = GeneratorOptions(
    grounding_k=1, grounding_min_score=0.1, max_prompt_tokens=96, max_new_tokens=12
)


@pytest.fixture(scope="session")
def tokenizer() -> PreTrainedTokenizerBase:
    return load_tokenizer()


@pytest.fixture(scope="session")
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def tiny_trained(
    tokenizer: PreTrainedTokenizerBase, embedder: HashingEmbedder
) -> checkpoint.TrainedGenerator:
    """A tiny random Llama fine-tuned (fully) on six pairs: trained once per session."""
    return checkpoint.train_generator(
        SAMPLE_PAIRS, TINY_TRAIN, TINY_OPTIONS, embedder=embedder, tokenizer=tokenizer
    )


@pytest.fixture(scope="session")
def tiny_checkpoint(
    tiny_trained: checkpoint.TrainedGenerator, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    directory = tmp_path_factory.mktemp("generator")
    checkpoint.save(tiny_trained, directory)
    return directory
