"""Fixtures for intent discovery: the real MiniLM encoder and redactor, loaded once."""

from __future__ import annotations

import pytest

from common.embeddings import MiniLMEmbedder
from common.privacy import Redactor

GROUPS: dict[str, list[str]] = {
    "track": [
        "where is my order",
        "can you track my package",
        "has my parcel shipped yet",
        "track my order please",
        "when will my order arrive",
        "what's the status of my order",
        "my order hasn't arrived, where is it",
        "I want to track the delivery of my order",
    ],
    "refund": [
        "I want a refund",
        "please refund my money",
        "how do I get a refund for my boots",
        "can I get my money back",
        "refund my purchase",
        "I'd like a refund for the tent",
        "requesting a refund for a damaged item",
        "give me a refund now",
    ],
    "password": [
        "I forgot my password",
        "how do I reset my password",
        "can't log in to my account",
        "password reset link not working",
        "I need to change my password",
        "locked out of my account, forgot password",
        "reset password please",
        "my login password does not work",
    ],
    "hours": [
        "what are your opening hours",
        "when does the store open",
        "are you open on sunday",
        "what time do you close today",
        "store opening times",
        "is the shop open on public holidays",
        "what are the store hours this weekend",
        "until what time is the store open",
    ],
}


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    """The packaged all-MiniLM-L6-v2, loaded on first use and shared by the session."""
    model = MiniLMEmbedder(batch_size=32)
    model.encode(["warm up"])
    return model


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    """The default redactor, with the packaged spaCy name finder."""
    return Redactor()


@pytest.fixture(scope="session")
def grouped() -> tuple[list[str], list[str]]:
    texts = [t for examples in GROUPS.values() for t in examples]
    labels = [g for g, examples in GROUPS.items() for _ in examples]
    return texts, labels
