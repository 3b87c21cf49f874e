"""Tests for the generator's fine-tuning loop (bot.nlg.generation.fine_tune)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from transformers import PreTrainedTokenizerBase

from bot.nlg.generation.fine_tune import GenerationTrainConfig, fine_tune, tokenise_pairs
from bot.nlg.generation.model import load_base
from common.errors import ConfigError
from tests.bot.nlg.generation.conftest import TINY_TRAIN
from tests.support.generation import SAMPLE_PAIRS


def test_an_unknown_precision_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="precision"):
        GenerationTrainConfig(precision="fp16")
    with pytest.raises(ConfigError, match="precision"):
        GenerationTrainConfig.from_dict({"precision": "int8"})


@pytest.mark.parametrize("name", ["fp32", "bf16"])
def test_both_precisions_learn_and_keep_fp32_weights(
    tokenizer: PreTrainedTokenizerBase, name: str
) -> None:
    config = dataclasses.replace(TINY_TRAIN, precision=name, epochs=6)
    examples = tokenise_pairs(SAMPLE_PAIRS, [[] for _ in SAMPLE_PAIRS], tokenizer, config)
    result = fine_tune(load_base("tiny-random", tokenizer, 0), examples, tokenizer, config)
    assert result.precision == name
    assert all(math.isfinite(loss) for loss in result.losses)
    assert sum(result.losses[-2:]) < sum(result.losses[:2])
    assert {p.dtype for p in result.model.parameters()} == {torch.float32}


def test_bf16_training_is_deterministic_for_a_seed(tokenizer: PreTrainedTokenizerBase) -> None:
    config = dataclasses.replace(TINY_TRAIN, precision="bf16", epochs=2)
    examples = tokenise_pairs(SAMPLE_PAIRS, [[] for _ in SAMPLE_PAIRS], tokenizer, config)
    first = fine_tune(load_base("tiny-random", tokenizer, 0), examples, tokenizer, config)
    second = fine_tune(load_base("tiny-random", tokenizer, 0), examples, tokenizer, config)
    assert first.losses == second.losses
    a, b = first.model.state_dict(), second.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
