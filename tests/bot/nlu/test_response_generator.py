"""The ResponseGenerator graph component: train, persist, load, register, fingerprint."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlg.generation.pairs import write_pairs
from bot.nlg.generation.registry import generator_registry
from bot.nlu.response_generator import ResponseGenerator
from common.errors import ConfigError
from tests.support.generation import SAMPLE_PAIRS

TINY = {
    "base_model": "tiny-random",
    "method": "full",
    "max_steps": 2,
    "batch_size": 3,
    "max_prompt_tokens": 64,
    "max_target_tokens": 16,
    "max_new_tokens": 6,
    "progress": False,
    "device": "cpu",
}


def _args(
    tmp: Path, **overrides: Any
) -> tuple[dict[str, Any], LocalModelStorage, Resource, ExecutionContext]:
    config = {**ResponseGenerator.get_default_config(), **TINY, **overrides}
    return (
        config,
        LocalModelStorage(tmp),
        Resource("response_generator"),
        ExecutionContext(GraphSchema({}), "test"),
    )


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    write_pairs(SAMPLE_PAIRS, path)
    return path


def test_registered_with_the_default_recipe() -> None:
    registered = DefaultV1Recipe._from_registry("bot.nlu.response_generator.ResponseGenerator")
    assert registered.is_trainable
    assert DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER in registered.types


def test_unknown_or_bad_options_fail(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option"):
        ResponseGenerator.create(*_args(tmp_path, epochz=3))
    with pytest.raises(ConfigError):
        ResponseGenerator.create(*_args(tmp_path, method="half"))
    with pytest.raises(ConfigError, match="precision"):
        ResponseGenerator.create(*_args(tmp_path, precision="fp16"))
    with pytest.raises(ConfigError):
        ResponseGenerator.create(*_args(tmp_path, guardrails={"max_chars": -1}))
    with pytest.raises(ConfigError, match="num_beams"):
        ResponseGenerator.create(*_args(tmp_path, num_beams=0))


def test_num_beams_reaches_the_run_time_options(tmp_path: Path) -> None:
    _, options, _ = ResponseGenerator._configs(_args(tmp_path, num_beams=4)[0])
    assert options.num_beams == 4
    _, default, _ = ResponseGenerator._configs(_args(tmp_path)[0])
    assert default.num_beams == 1


def test_pairs_content_is_part_of_the_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    write_pairs(SAMPLE_PAIRS, path)
    first = ResponseGenerator.fingerprint_addon({"pairs": str(path)})
    write_pairs(SAMPLE_PAIRS[:-1], path)
    assert ResponseGenerator.fingerprint_addon({"pairs": str(path)}) != first
    assert ResponseGenerator.fingerprint_addon({"pairs": str(tmp_path / "none")}) == "missing"


def test_train_persist_load_registers_generator(tmp_path: Path, pairs_file: Path) -> None:
    name = f"test-{uuid.uuid4().hex}"
    args = _args(tmp_path, pairs=str(pairs_file), registry_name=name, guardrails={"max_chars": 321})
    component = ResponseGenerator.create(*args)
    component.train(TrainingData())
    assert generator_registry().get(name) is None

    ResponseGenerator.load(*args)
    generator = generator_registry().get(name)
    assert generator is not None
    assert generator.guardrails.config.max_chars == 321
    assert generator.options.max_new_tokens == 6
    result = generator.generate([], "is the tent waterproof", channel="web")
    assert 1 <= result.tokens <= 6
    assert result.grounding  # the MiniLM index was built and persisted


def test_process_leaves_messages_alone(tmp_path: Path) -> None:
    component = ResponseGenerator.create(*_args(tmp_path))
    message = Message(data={TEXT: "is the tent waterproof"})
    before = dict(message.data)
    assert component.process([message]) == [message]
    assert message.data == before


def test_missing_pairs_skip_training_and_register_nothing(tmp_path: Path) -> None:
    name = f"test-{uuid.uuid4().hex}"
    args = _args(tmp_path, pairs=str(tmp_path / "missing.jsonl"), registry_name=name)
    ResponseGenerator.create(*args).train(TrainingData())
    ResponseGenerator.load(*args)
    assert generator_registry().get(name) is None
