"""Hand-written help-centre chunks and a synonym-aware fake embedder, for retrieval tests.

:class:`SynonymEmbedder` maps a few paraphrases onto the chunks' own words before the
hashing embedder of :mod:`tests.support.generation` sees them: a stand-in for MiniLM that
finds "laundering a puffer" near "wash down jackets" while the words share nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from bot.knowledge.chunks import Chunk
from tests.support.generation import HashingEmbedder

SYNONYMS = {
    "laundering": "wash",
    "launder": "wash",
    "puffer": "jackets",
    "coat": "jackets",
    "sent": "ship",
    "abroad": "countries",
    "money": "refund",
    "back": "return",
}


class SynonymEmbedder:
    """Hashing bag of words after replacing :data:`SYNONYMS`; unit rows of 256 floats."""

    def __init__(self) -> None:
        self._hashing = HashingEmbedder()
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        canonical = [
            re.sub(r"\w+", lambda m: SYNONYMS.get(m[0].lower(), m[0]), text) for text in texts
        ]
        return self._hashing.encode(canonical)


class FixedDimEmbedder:
    """Returns the same unit vector of ``dim`` floats for every text (a wrong-model stand-in)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors


def _chunk(doc: str, n: int, title: str, section: str, text: str) -> Chunk:
    return Chunk.build(
        f"{doc}#{n}", doc, title, section, text, f"https://help.pinecrest.test/{doc}"
    )


SAMPLE_CHUNKS = [
    _chunk(
        "care/down.md",
        0,
        "Caring for down",
        "Washing > Machine wash",
        "Machine wash down jackets cold on a gentle cycle with a down-specific detergent.",
    ),
    _chunk(
        "care/down.md",
        1,
        "Caring for down",
        "Drying",
        "Tumble dry on low heat with two clean tennis balls until no clumps remain.",
    ),
    _chunk(
        "products/sleeping-bags.md",
        0,
        "Sleeping bags",
        "Temperature ratings",
        "The Alpine 15 sleeping bag has a comfort rating of -5 °C and a limit of -12 °C.",
    ),
    _chunk(
        "policies/returns.md",
        0,
        "Returns",
        "",
        "You can return unworn items within 30 days of delivery for a full refund.",
    ),
    _chunk(
        "policies/shipping.md",
        0,
        "Shipping",
        "Where we ship",
        "We ship to the EU, the UK and the US. Standard delivery takes 3 to 5 business days.",
    ),
    _chunk(
        "products/tents.md",
        0,
        "Tents",
        "Ridge 2",
        "The Ridge 2 flysheet has a 3000 mm hydrostatic head and taped seams; part RX200.",
    ),
    _chunk(
        "policies/payment.md",
        0,
        "Payment",
        "Methods",
        "We accept Visa, Mastercard, PayPal and Klarna at checkout.",
    ),
    _chunk(
        "fr/veste.md",
        0,
        "Crème de la montagne",
        "Été",
        "Notre veste légère protège du vent et de la pluie fine.",
    ),
]


def by_id(chunk_id: str) -> Chunk:
    """Return the sample chunk with this id."""
    return next(c for c in SAMPLE_CHUNKS if c.chunk_id == chunk_id)
