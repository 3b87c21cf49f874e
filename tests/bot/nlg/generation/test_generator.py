"""The tiny random Llama through train, persist, load and generate (what CI runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlg.generation import checkpoint
from bot.nlg.generation.fine_tune import GenerationTrainConfig
from bot.nlg.generation.generator import Generation
from bot.nlg.generation.guardrails import GuardConfig
from bot.nlg.generation.pairs import Turn
from common.errors import ConfigError
from tests.bot.nlg.generation.conftest import TINY_OPTIONS
from tests.support.generation import SAMPLE_PAIRS, HashingEmbedder


def test_training_lowers_the_loss(tiny_trained: checkpoint.TrainedGenerator) -> None:
    losses = tiny_trained.report["losses"]
    assert tiny_trained.report["steps"] == 8  # 2 batches x 4 epochs
    assert tiny_trained.report["stopped_by"] == "epochs"
    assert len(losses) == 8
    assert sum(losses[-2:]) / 2 < losses[0] - 0.5


def test_generate_returns_a_full_generation(tiny_trained: checkpoint.TrainedGenerator) -> None:
    result = tiny_trained.generator.generate(
        [Turn("customer", "hi"), Turn("agent", "Hello!")], "is the tent waterproof", "web"
    )
    assert isinstance(result, Generation)
    assert 1 <= result.tokens <= TINY_OPTIONS.max_new_tokens
    assert result.ms_per_token > 0
    assert result.grounding and result.grounding[0].conversation_id in {"c2", "c4"}
    # A six-pair tiny model is not a good writer: the guards must say so.
    assert result.mean_logprob < 0


def test_checkpoint_round_trip(
    tiny_trained: checkpoint.TrainedGenerator, tiny_checkpoint: Path, embedder: HashingEmbedder
) -> None:
    assert (tiny_checkpoint / "model").is_dir()  # full fine-tuning stores the weights
    loaded = checkpoint.load(tiny_checkpoint, embedder)
    question = "can you ship to canada"
    original = tiny_trained.generator.generate([], question)
    again = loaded.generate([], question)
    assert again.text == original.text
    assert again.grounding == original.grounding
    assert loaded.options == tiny_trained.generator.options


def test_lora_checkpoint_stores_only_the_adapter(
    tokenizer: object, embedder: HashingEmbedder, tmp_path: Path
) -> None:
    config = GenerationTrainConfig(
        base_model="tiny-random",
        method="lora",
        lora_layers=1,
        max_steps=2,
        batch_size=3,
        max_prompt_tokens=64,
        max_target_tokens=16,
        progress=False,
        device="cpu",
    )
    trained = checkpoint.train_generator(
        SAMPLE_PAIRS,
        config,
        TINY_OPTIONS,
        GuardConfig(max_chars=300),
        embedder,
        tokenizer,  # type: ignore[arg-type]
    )
    assert trained.report["steps"] == 2 and trained.report["stopped_by"] == "max_steps"
    assert trained.adapter and all("lora" in key for key in trained.adapter)
    # lora_layers=1: only the top decoder layer (of two) gets adapters.
    assert all(".layers.1." in key for key in trained.adapter)
    checkpoint.save(trained, tmp_path)
    assert (tmp_path / "adapter.safetensors").is_file() and not (tmp_path / "model").exists()
    loaded = checkpoint.load(tmp_path, embedder)
    assert loaded.guardrails.config.max_chars == 300
    question = "how do I return boots"
    assert loaded.generate([], question).text == trained.generator.generate([], question).text


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        GenerationTrainConfig(base_model="gpt-5")
    with pytest.raises(ConfigError):
        GenerationTrainConfig.from_dict({"epochs": 1, "unknown": 2})
    with pytest.raises(ConfigError):
        checkpoint.read_meta(Path("/nonexistent"))


def test_a_reply_that_drifts_from_a_near_identical_past_answer_fails(
    tiny_trained: checkpoint.TrainedGenerator,
) -> None:
    generator = tiny_trained.generator
    assert generator.index is not None
    question = SAMPLE_PAIRS[0].customer
    (top, *_) = generator.ground(question)
    config = generator.guardrails.config
    assert top.score >= config.grounded_min_score, "the question itself is in the index"
    assert generator._drifted(top.reply, [top]) is False
    assert generator._drifted("Bananas are yellow and grow in bunches.", [top]) is True
    # Far from any past question: no past answer to hold the reply to.
    weak = type(top)(top.reply, config.grounded_min_score - 0.1, top.question, "x")
    assert generator._drifted("Bananas are yellow and grow in bunches.", [weak]) is False
