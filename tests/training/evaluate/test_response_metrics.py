"""Reply metrics: overlap, similarity, leaks and length compliance."""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlg.channel_style import ChannelStyles
from bot.nlg.generation.guardrails import Guardrails
from training.evaluate.response_metrics import (
    bleu,
    embedding_similarity,
    leak_rate,
    length_compliance,
    rouge_l,
)
from training.evaluate.responses import neutralise_placeholders


def test_rouge_and_bleu_reward_overlap() -> None:
    refs = ["you can return boots within 60 days", "we ship to canada in five days"]
    assert rouge_l(refs, refs) == pytest.approx(100.0)
    assert bleu(refs, refs) == pytest.approx(100.0)
    worse = ["please reset your password", "the weather is nice"]
    assert rouge_l(worse, refs) < 20
    assert bleu(worse, refs) < bleu(refs, refs)


def test_embedding_similarity_is_mean_cosine() -> None:
    table = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}

    def encode(texts: list[str]) -> np.ndarray:
        return np.stack([table[t] for t in texts])

    assert embedding_similarity(["a", "a"], ["a", "b"], encode) == pytest.approx(0.5)


def test_leak_rate_counts_replies_with_pii_or_placeholders() -> None:
    guards = Guardrails()

    def leaks(text: str) -> list[str]:
        return guards.pii(text) + guards.placeholders(text)

    replies = [
        "Your parcel is on its way.",
        "Write to jane.doe@example.com for help.",
        "Your order {{Order Number}} has shipped.",
        "Hi [PERSON_1], thanks for waiting.",
    ]
    assert leak_rate(replies, leaks) == pytest.approx(0.75)


def test_length_compliance_is_per_channel() -> None:
    styles = ChannelStyles.load()
    short, long = "Thanks, that's done.", " ".join(["This sentence is long enough."] * 80)
    result = length_compliance([short, long], styles, ["slack", "email"])
    assert result["slack"] == pytest.approx(0.5)
    assert result["email"] >= result["slack"]


def test_template_slots_become_plain_words() -> None:
    text = "Log in to {{Website URL}} and open {{ Order Details }}."
    assert neutralise_placeholders(text) == "Log in to website url and open order details."
