"""Six sample question/answer pairs and a hashing embedder, for the generator's tests.

Shared by the generation tests and the response generator component's tests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

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
