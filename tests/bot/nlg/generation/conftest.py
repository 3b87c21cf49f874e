"""Shared fixtures: SmolLM2's tokenizer, a hashing embedder, a tiny trained generator."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from transformers import PreTrainedTokenizerBase

from bot.nlg.generation import checkpoint
from bot.nlg.generation.fine_tune import GenerationTrainConfig
from bot.nlg.generation.generator import GeneratorOptions
from bot.nlg.generation.model import load_tokenizer
from bot.nlg.generation.pairs import GenerationPair, Turn


class HashingEmbedder:
    """Bag-of-words hashing into 256 dimensions: similar wording, similar unit vectors."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 256), dtype=np.float32)
        for row, sentence in enumerate(texts):
            for word in re.findall(r"\w+", sentence.lower()):
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 256] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


SAMPLE_PAIRS = [
    GenerationPair(
        "c1",
        "web",
        (),
        "do you ship to canada",
        "We ship to the EU, the UK and the US only.",
        "shipping_options",
    ),
    GenerationPair(
        "c2",
        "email",
        (Turn("customer", "hi"), Turn("agent", "Hi, how can I help?")),
        "is the tent waterproof",
        "Yes, the flysheet is rated 3000 mm.",
        "product_question",
    ),
    GenerationPair(
        "c3",
        None,
        (),
        "how long do returns take",
        "You have 30 days from delivery.",
        "return_item",
    ),
    GenerationPair(
        "c4",
        "slack",
        (),
        "does the tent leak in rain",
        "No, the seams are taped.",
        "product_question",
    ),
    GenerationPair(
        "c5",
        "web",
        (),
        "can you ship to australia",
        "We ship to the EU, the UK and the US.",
        "shipping_options",
    ),
    GenerationPair(
        "c6",
        "telegram",
        (),
        "how do I return boots",
        "Start a return in My account > Orders.",
        "return_item",
    ),
]

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
