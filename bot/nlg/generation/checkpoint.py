"""Train a generator from pairs, and save or load it as a folder.

A checkpoint folder holds ``generator.json`` (training config, run-time options,
guardrail settings and a training report), the tokenizer, the grounding index, and either
``adapter.safetensors`` (LoRA: the base model is rebuilt from the package or the seed) or
``model/`` (full fine-tuning). A LoRA checkpoint of SmolLM2 is a few MB, so it fits in a
Rasa model archive.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, LlamaForCausalLM, PreTrainedTokenizerBase

from bot.nlg.generation.fine_tune import (
    GenerationTrainConfig,
    TrainingExample,
    apply_adapter,
    fine_tune,
    tokenise_pairs,
)
from bot.nlg.generation.generator import Generator, GeneratorOptions
from bot.nlg.generation.grounding import GroundingIndex
from bot.nlg.generation.guardrails import GuardConfig, Guardrails
from bot.nlg.generation.model import IM_END, load_base, load_tokenizer
from bot.nlg.generation.pairs import GenerationPair
from common.embeddings import Embedder, MiniLMEmbedder
from common.errors import ConfigError

logger = logging.getLogger(__name__)


class AnswerExample(Protocol):
    """A knowledge answer example (:class:`bot.knowledge.qa_example.QAExample`)."""

    def training_example(
        self, tokenizer: PreTrainedTokenizerBase, max_prompt_tokens: int, max_target_tokens: int
    ) -> TrainingExample:
        """Tokenise the example for the fine-tuning loop.

        Args:
            tokenizer: The model's tokenizer.
            max_prompt_tokens: The prompt budget.
            max_target_tokens: The target budget.

        Returns:
            Prompt ids and target ids.
        """
        ...


META_FILE = "generator.json"
ADAPTER_FILE = "adapter.safetensors"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainedGenerator:
    """A generator with the configs it was trained with, ready to save.

    Attributes:
        generator: The generator.
        train_config: Its training config.
        guard_config: Its guardrail settings.
        adapter: LoRA weights (``None`` after full fine-tuning).
        report: Steps, time, losses, number of pairs.
    """

    generator: Generator
    train_config: GenerationTrainConfig
    guard_config: GuardConfig
    adapter: dict[str, torch.Tensor] | None
    report: dict[str, Any]


def train_generator(
    pairs: Sequence[GenerationPair],
    train_config: GenerationTrainConfig,
    options: GeneratorOptions | None = None,
    guard_config: GuardConfig | None = None,
    embedder: Embedder | None = None,
    tokenizer: PreTrainedTokenizerBase | None = None,
    answer_examples: Sequence[AnswerExample] = (),
) -> TrainedGenerator:
    """Build the grounding index, fine-tune the base model and assemble a generator.

    With ``answer_examples`` the same fine-tuning run also teaches the knowledge answer
    writer (question and passages in, a short answer or an honest decline out): the
    examples are shuffled in with the pairs, within the same step and time budgets.

    Args:
        pairs: Generation pairs.
        train_config: Training settings.
        options: Run-time settings; default: prompt budgets taken from ``train_config``.
        guard_config: Guardrail settings.
        embedder: Sentence encoder for grounding; default: the packaged MiniLM.
        tokenizer: The tokenizer; default: SmolLM2's.
        answer_examples: Knowledge answer examples (``python -m training kb-examples``).

    Returns:
        The trained generator.
    """
    tokenizer = tokenizer or load_tokenizer()
    embedder = embedder or MiniLMEmbedder().load()
    options = options or GeneratorOptions(
        context_turns=train_config.context_turns,
        grounding_k=train_config.grounding_k,
        grounding_min_score=train_config.grounding_min_score,
        max_prompt_tokens=train_config.max_prompt_tokens,
    )
    guard_config = guard_config or GuardConfig()
    index = GroundingIndex.build(pairs, embedder)
    hits = index.search(
        [p.customer for p in pairs],
        train_config.grounding_k,
        train_config.grounding_min_score,
        exclude_conversations=[p.conversation_id for p in pairs],
    )
    examples = tokenise_pairs(
        pairs,
        [[(h.question, h.reply) for h in row] for row in hits],
        tokenizer,
        train_config,
        options.system,
    )
    examples += [
        example.training_example(
            tokenizer, train_config.answer_prompt_tokens, train_config.max_target_tokens
        )
        for example in answer_examples
    ]
    base = load_base(train_config.base_model, tokenizer, train_config.seed)
    result = fine_tune(base, examples, tokenizer, train_config)
    report = {
        "pairs": len(pairs),
        "answer_examples": len(answer_examples),
        "grounding_entries": len(index),
        "steps": result.steps,
        "train_seconds": round(result.train_seconds, 2),
        "stopped_by": result.stopped_by,
        "precision": result.precision,
        "losses": [round(x, 4) for x in result.losses],
    }
    generator = Generator(result.model, tokenizer, index, Guardrails(guard_config), options)
    return TrainedGenerator(generator, train_config, guard_config, result.adapter, report)


def save(trained: TrainedGenerator, directory: Path) -> None:
    """Write a trained generator into ``directory`` (which must exist).

    Args:
        trained: The generator and its configs.
        directory: The target folder.
    """
    generator = trained.generator
    meta = {
        "format": FORMAT_VERSION,
        "train_config": dataclasses.asdict(trained.train_config),
        "options": dataclasses.asdict(generator.options),
        "guardrails": dataclasses.asdict(trained.guard_config),
        "report": trained.report,
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    generator.tokenizer.save_pretrained(directory / "tokenizer")
    if generator.index is not None:
        generator.index.save(directory)
    if trained.adapter is not None:
        save_file({k: v.contiguous() for k, v in trained.adapter.items()}, directory / ADAPTER_FILE)
    else:
        generator.model.save_pretrained(directory / "model")


def read_meta(directory: Path) -> dict[str, Any]:
    """Return a checkpoint's ``generator.json``.

    Raises:
        ConfigError: If the folder holds no generator checkpoint.
    """
    path = directory / META_FILE
    if not path.is_file():
        raise ConfigError(f"no generator checkpoint in {directory}")
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT_VERSION:
        raise ConfigError(f"generator checkpoint format {meta.get('format')} is not supported")
    return meta


def load(
    directory: Path,
    embedder: Embedder | None = None,
    options: GeneratorOptions | None = None,
    guard_config: GuardConfig | None = None,
) -> Generator:
    """Load a generator written by :func:`save`.

    Args:
        directory: The checkpoint folder.
        embedder: Sentence encoder for grounding; default: the packaged MiniLM.
        options: Override of the stored run-time options.
        guard_config: Override of the stored guardrail settings.

    Returns:
        The generator (CPU).
    """
    meta = read_meta(directory)
    train_config = GenerationTrainConfig.from_dict(meta["train_config"])
    tokenizer = AutoTokenizer.from_pretrained(directory / "tokenizer")
    tokenizer.pad_token = IM_END
    model: LlamaForCausalLM
    if (directory / ADAPTER_FILE).is_file():
        base = load_base(train_config.base_model, tokenizer, train_config.seed)
        model = apply_adapter(base, load_file(directory / ADAPTER_FILE), train_config)
    else:
        model = LlamaForCausalLM.from_pretrained(directory / "model", dtype=torch.float32).eval()
    index = None
    if (directory / "grounding.json").is_file():
        index = GroundingIndex.load(directory, embedder or MiniLMEmbedder().load())
    options = options or GeneratorOptions(**meta["options"])
    guard_config = guard_config or GuardConfig(
        **{
            **meta["guardrails"],
            "pii_types": tuple(meta["guardrails"]["pii_types"]),
            "allowed_values": tuple(meta["guardrails"]["allowed_values"]),
        }
    )
    logger.info("Loaded a generator (%s, %s).", train_config.base_model, train_config.method)
    return Generator(model, tokenizer, index, Guardrails(guard_config), options)
