"""Rasa graph component: fine-tunes the response generator during ``rasa train``.

Use it in ``config.yml`` by module path, at the end of the pipeline::

    pipeline:
      ...
      - name: bot.nlu.response_generator.ResponseGenerator
        pairs: data/generation/pairs.jsonl
        base_model: smollm2
        max_train_seconds: 120

On ``rasa train`` it reads the generation pairs named by ``pairs`` (not Rasa's NLU data),
builds the MiniLM grounding index, fine-tunes SmolLM2 with LoRA (see
:mod:`bot.nlg.generation`) and writes the checkpoint into Rasa's model storage. The pairs
file's content hash is part of the node's fingerprint (:meth:`fingerprint_addon`), so
editing the pairs retrains the component even though Rasa's own training data is unchanged.

When the server loads the model, :meth:`load` rebuilds the generator and registers it in
:func:`bot.nlg.generation.registry.generator_registry`, where the NLG endpoint
(:mod:`bot.nlg.endpoint`) finds it. :meth:`process` does nothing: generation runs in the NLG
endpoint's thread pool, never in the NLU pipeline.

Component type: Rasa's recipe knows tokenizers, featurizers, intent classifiers, entity
extractors, policies and model loaders, and only loads a *trained* resource at prediction
time for the first four. The component is registered as an intent classifier, like Rasa's
own ``ResponseSelector`` (the closest precedent); it never sets or changes ``intent``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.knowledge.qa_example import QAExample, read_examples
from bot.nlg.generation import checkpoint
from bot.nlg.generation.fine_tune import GenerationTrainConfig
from bot.nlg.generation.generator import GeneratorOptions
from bot.nlg.generation.guardrails import GuardConfig
from bot.nlg.generation.pairs import file_fingerprint, read_pairs
from bot.nlg.generation.registry import DEFAULT_NAME, generator_registry
from common.errors import BotError, ConfigError, TrainingDataError

logger = logging.getLogger(__name__)

_TRAIN_KEYS = {f.name for f in dataclasses.fields(GenerationTrainConfig)}
_RUNTIME_KEYS = {
    "max_new_tokens",
    "temperature",
    "top_p",
    "repetition_penalty",
    "num_beams",
    "quantize",
}
# Keys Rasa itself may put into a component's config.
_RASA_KEYS = {"name", "class", "needs", "finetuning_epoch_fraction"}
DEFAULT_PAIRS = "data/generation/pairs.jsonl"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ResponseGenerator(GraphComponent):
    """Trains the response generator and hands it to the NLG endpoint at run time."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Return the defaults; every training and decoding option can be overridden."""
        defaults = dataclasses.asdict(GenerationTrainConfig())
        defaults["lora_targets"] = list(defaults["lora_targets"])
        runtime = dataclasses.asdict(GeneratorOptions())
        defaults.update({key: runtime[key] for key in _RUNTIME_KEYS})
        defaults.update(
            {
                "pairs": DEFAULT_PAIRS,
                "answer_examples": None,
                "guardrails": {},
                "registry_name": DEFAULT_NAME,
            }
        )
        return defaults

    @staticmethod
    def required_packages() -> list[str]:
        """Return the packages this component needs."""
        return ["torch", "transformers", "peft", "sentence_transformers"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Add the pairs' and answer examples' content hashes: editing either retrains."""
        pairs = file_fingerprint(Path(config.get("pairs") or DEFAULT_PAIRS))
        answers = config.get("answer_examples")
        if not answers:
            return pairs
        return f"{pairs}:{file_fingerprint(Path(str(answers)))}"

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> None:
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self._execution_context = execution_context

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ResponseGenerator:
        """Create an untrained component (validates the configuration)."""
        cls._configs(config)
        return cls(config, model_storage, resource, execution_context)

    @classmethod
    def _configs(
        cls, config: dict[str, Any]
    ) -> tuple[GenerationTrainConfig, GeneratorOptions, GuardConfig]:
        unknown = sorted(set(config) - set(cls.get_default_config()) - _RASA_KEYS)
        if unknown:
            raise ConfigError(
                f"ResponseGenerator: unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(cls.get_default_config()))}"
            )
        try:
            train = GenerationTrainConfig.from_dict(
                {k: config[k] for k in _TRAIN_KEYS if k in config}
            )
            options = GeneratorOptions(
                context_turns=train.context_turns,
                grounding_k=train.grounding_k,
                grounding_min_score=train.grounding_min_score,
                max_prompt_tokens=train.max_prompt_tokens,
                answer_prompt_tokens=train.answer_prompt_tokens,
                seed=train.seed,
                **{k: config[k] for k in _RUNTIME_KEYS if k in config},
            )
            guards = dict(config.get("guardrails") or {})
            for key in ("pii_types", "allowed_values"):
                if key in guards:
                    guards[key] = tuple(guards[key])
            guard_config = GuardConfig(**guards)
        except (TypeError, ConfigError) as e:
            raise ConfigError(f"ResponseGenerator: {e}") from e
        return train, options, guard_config

    def train(self, training_data: TrainingData) -> Resource:
        """Fine-tune on the generation pairs (Rasa's NLU data is not used) and persist.

        Args:
            training_data: Rasa NLU training data (unused; the pairs file is the input).

        Returns:
            The resource the checkpoint was written to.
        """
        pairs_path = Path(self.component_config.get("pairs") or DEFAULT_PAIRS)
        if not pairs_path.is_file():
            logger.warning(
                "ResponseGenerator: no generation pairs at %s; skipping training, so "
                "generated responses will fall back to the domain's.",
                pairs_path,
            )
            return self._resource
        pairs = read_pairs(pairs_path)
        answers = self._answer_examples()
        train_config, options, guard_config = self._configs(self.component_config)
        trained = checkpoint.train_generator(
            pairs, train_config, options, guard_config, answer_examples=answers
        )
        with self._model_storage.write_to(self._resource) as directory:
            checkpoint.save(trained, Path(directory))
        logger.info("ResponseGenerator trained: %s", json.dumps(trained.report))
        return self._resource

    def _answer_examples(self) -> list[QAExample]:
        """Read the knowledge answer examples named by ``answer_examples``, if any.

        Raises:
            TrainingDataError: If the option names a missing or malformed file.
        """
        value = self.component_config.get("answer_examples")
        if not value:
            return []
        path = Path(str(value))
        if not path.is_file():
            raise TrainingDataError(
                f"ResponseGenerator: answer_examples file {path} not found; build it with "
                "`python -m training kb-examples` (or remove the option)"
            )
        examples = read_examples(path)
        logger.info("ResponseGenerator: %d knowledge answer examples.", len(examples))
        return examples

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> ResponseGenerator:
        """Load the checkpoint and register the generator for the NLG endpoint.

        Without a checkpoint (training was skipped) or when loading fails, nothing is
        registered and the endpoint serves the domain's fallback responses.
        """
        component = cls(config, model_storage, resource, execution_context)
        _, options, guard_config = cls._configs(config)
        try:
            with model_storage.read_from(resource) as directory:
                generator = checkpoint.load(
                    Path(directory), options=options, guard_config=guard_config
                )
        except ValueError:
            logger.warning("No trained response generator in %s.", resource.name)
            return component
        except (BotError, OSError) as e:
            logger.error("Could not load the response generator: %s", e)
            return component
        generator_registry().register(generator, str(config.get("registry_name", DEFAULT_NAME)))
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        """Return the messages unchanged (generation happens in the NLG endpoint)."""
        return messages
