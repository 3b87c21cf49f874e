"""Fine-tune the generator on generation pairs, with LoRA (peft) or in full.

A small nanoGPT-style loop: a dataclass config, shuffled batches with dynamic padding, the
loss on the reply tokens only, AdamW with warm-up and linear decay, a tqdm progress bar,
and two budgets (``max_steps`` and ``max_train_seconds``) so ``rasa train`` stays within
CI time on a 2-core machine. Runs are deterministic for a seed on a given device unless
the time budget cuts them.

Each training prompt is built exactly as at run time: the pair's context turns, its
customer message and the top-k grounding replies from *other* conversations (a pair never
sees its own answer, so the model learns to use grounding, not to copy it).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from tqdm.auto import tqdm
from transformers import LlamaForCausalLM, PreTrainedTokenizerBase

from bot.nlg.generation.model import BASE_MODELS
from bot.nlg.generation.pairs import GenerationPair
from bot.nlg.generation.prompt import DEFAULT_SYSTEM, PromptParts, build_ids, target_ids
from common.device import resolve_device, seed_everything
from common.errors import ConfigError, TrainingDataError
from common.precision import training_autocast, use_bf16, validate_precision
from common.schedule import warmup_linear_schedule

logger = logging.getLogger(__name__)

METHODS = ("lora", "full")


@dataclass(frozen=True)
class GenerationTrainConfig:
    """Hyper-parameters of a generator fine-tuning run.

    Attributes:
        base_model: ``"smollm2"`` (the packaged SmolLM2-135M-Instruct) or
            ``"tiny-random"`` (a small random Llama, for tests).
        method: ``"lora"`` (peft adapters on the attention projections) or ``"full"``.
        lora_rank: LoRA rank.
        lora_alpha: LoRA scaling numerator.
        lora_dropout: Dropout on the LoRA input.
        lora_targets: Module names that get adapters.
        lora_layers: Put adapters on the top N decoder layers only (0: all). Gradients
            then stop at the lowest adapted layer, which makes CPU training much cheaper.
        epochs: Passes over the pairs.
        max_steps: Stop after this many optimiser steps (0: no limit).
        max_train_seconds: Stop after this much training time (0: no limit).
        batch_size: Pairs per step.
        learning_rate: Peak learning rate.
        warmup_ratio: Share of the planned steps spent warming up.
        weight_decay: AdamW weight decay.
        max_prompt_tokens: Prompt budget (oldest turns, then grounding, are dropped).
        max_target_tokens: Reply budget (longer replies are cut).
        answer_prompt_tokens: Prompt budget of the knowledge answer examples (question
            and passages; the weakest passages are dropped first). Only used when the
            component is given ``answer_examples``.
        context_turns: Earlier turns kept in the prompt.
        grounding_k: Past replies put into each prompt.
        grounding_min_score: Cosine floor for a grounding reply.
        seed: Seed for weights of the tiny model, LoRA init, shuffling and dropout.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        num_threads: CPU threads for torch while training (0: torch's default).
        precision: ``"auto"`` (bfloat16 autocast where the device has it natively, else
            float32), ``"fp32"`` or ``"bf16"`` (see :mod:`common.precision`).
        progress: Show a progress bar.
    """

    base_model: str = "smollm2"
    method: str = "lora"
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    lora_layers: int = 0
    epochs: int = 1
    max_steps: int = 0
    max_train_seconds: float = 0.0
    batch_size: int = 4
    learning_rate: float = 3e-4
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_prompt_tokens: int = 256
    max_target_tokens: int = 96
    answer_prompt_tokens: int = 448
    context_turns: int = 4
    grounding_k: int = 2
    grounding_min_score: float = 0.35
    seed: int = 42
    device: str = "auto"
    num_threads: int = 0
    precision: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        validate_precision(self.precision)
        if self.base_model not in BASE_MODELS:
            raise ConfigError(f"base_model must be one of {', '.join(BASE_MODELS)}")
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {', '.join(METHODS)}")
        if self.epochs < 1 or self.batch_size < 1 or self.lora_rank < 1:
            raise ConfigError("epochs, batch_size and lora_rank must be >= 1")
        if self.lora_layers < 0:
            raise ConfigError("lora_layers must be >= 0")
        if self.max_prompt_tokens < 32 or self.max_target_tokens < 8:
            raise ConfigError("max_prompt_tokens must be >= 32 and max_target_tokens >= 8")
        if self.answer_prompt_tokens < 64:
            raise ConfigError("answer_prompt_tokens must be at least 64")
        if self.max_steps < 0 or self.max_train_seconds < 0:
            raise ConfigError("max_steps and max_train_seconds must be >= 0")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GenerationTrainConfig:
        """Build a config from YAML-style values (lists become tuples).

        Raises:
            ConfigError: On a wrong type or value.
        """
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        try:
            return cls(**values)
        except TypeError as e:
            raise ConfigError(f"generation training options: {e}") from e


@dataclass
class TrainingExample:
    """A tokenised pair: prompt ids and reply ids."""

    prompt: list[int]
    target: list[int]


@dataclass
class TuneResult:
    """A fine-tuned model with what was learned about it.

    Attributes:
        model: The model with LoRA merged in (plain ``LlamaForCausalLM``), on the CPU,
            in eval mode.
        adapter: The LoRA weights (``None`` for full fine-tuning).
        steps: Optimiser steps taken.
        train_seconds: Wall time of the loop.
        losses: Training loss of every step.
        stopped_by: ``"epochs"``, ``"max_steps"`` or ``"max_train_seconds"``.
        precision: ``"bf16"`` or ``"fp32"``: what the forward passes ran in.
    """

    model: LlamaForCausalLM
    adapter: dict[str, torch.Tensor] | None
    steps: int
    train_seconds: float
    losses: list[float] = field(default_factory=list)
    stopped_by: str = "epochs"
    precision: str = "fp32"


def lora_config(config: GenerationTrainConfig, num_layers: int) -> LoraConfig:
    """Return the peft LoRA config for a training config and a model's layer count."""
    layers = None
    if 0 < config.lora_layers < num_layers:
        layers = list(range(num_layers - config.lora_layers, num_layers))
    return LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_targets),
        layers_to_transform=layers,
        layers_pattern="layers" if layers else None,
        bias="none",
        task_type="CAUSAL_LM",
    )


def apply_adapter(
    model: LlamaForCausalLM, adapter: dict[str, torch.Tensor], config: GenerationTrainConfig
) -> LlamaForCausalLM:
    """Merge stored LoRA weights into a base model.

    Args:
        model: The base model (changed in place).
        adapter: Weights from :attr:`TuneResult.adapter`.
        config: The training config the adapter was made with.

    Returns:
        The merged plain model, in eval mode.
    """
    peft_model = get_peft_model(model, lora_config(config, model.config.num_hidden_layers))
    set_peft_model_state_dict(peft_model, adapter)
    merged = peft_model.merge_and_unload()
    if not isinstance(merged, LlamaForCausalLM):
        raise ConfigError("merging the LoRA adapter did not give a LlamaForCausalLM")
    return merged.eval()


def tokenise_pairs(
    pairs: Sequence[GenerationPair],
    grounding: Sequence[Sequence[tuple[str, str]]],
    tokenizer: PreTrainedTokenizerBase,
    config: GenerationTrainConfig,
    system: str = DEFAULT_SYSTEM,
) -> list[TrainingExample]:
    """Build the training prompts and targets.

    Args:
        pairs: The pairs.
        grounding: Per pair, the ``(question, reply)`` grounding exchanges for its prompt.
        tokenizer: The model's tokenizer.
        config: The training config.
        system: The system instruction.

    Returns:
        One example per pair.
    """
    examples = []
    for pair, replies in zip(pairs, grounding, strict=True):
        parts = PromptParts(
            context=pair.context[-config.context_turns :] if config.context_turns else (),
            message=pair.customer,
            grounding=tuple(replies),
            channel=pair.channel,
        )
        examples.append(
            TrainingExample(
                build_ids(parts, tokenizer, config.max_prompt_tokens, system),
                target_ids(pair.agent, tokenizer, config.max_target_tokens),
            )
        )
    return examples


def _collate(
    batch: Sequence[TrainingExample], pad_id: int, device: torch.device
) -> dict[str, torch.Tensor]:
    length = max(len(e.prompt) + len(e.target) for e in batch)
    ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), length), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), length), dtype=torch.long)
    for row, example in enumerate(batch):
        sequence = example.prompt + example.target
        ids[row, : len(sequence)] = torch.tensor(sequence)
        labels[row, len(example.prompt) : len(sequence)] = torch.tensor(example.target)
        mask[row, : len(sequence)] = 1
    return {
        "input_ids": ids.to(device),
        "labels": labels.to(device),
        "attention_mask": mask.to(device),
    }


def fine_tune(
    model: LlamaForCausalLM,
    examples: Sequence[TrainingExample],
    tokenizer: PreTrainedTokenizerBase,
    config: GenerationTrainConfig,
) -> TuneResult:
    """Fine-tune ``model`` on tokenised examples.

    Args:
        model: The base model (changed in place).
        examples: From :func:`tokenise_pairs`.
        tokenizer: The model's tokenizer (for the pad id).
        config: The training config.

    Returns:
        The merged model on the CPU and the adapter weights.

    Raises:
        TrainingDataError: If there are no examples.
    """
    if not examples:
        raise TrainingDataError("no generation pairs to fine-tune on")
    seed_everything(config.seed)
    if config.num_threads > 0:
        torch.set_num_threads(config.num_threads)
    device = resolve_device(config.device)
    bf16 = use_bf16(config.precision, device)
    precision = "bf16" if bf16 else "fp32"
    trainable: torch.nn.Module = model
    if config.method == "lora":
        trainable = get_peft_model(model, lora_config(config, model.config.num_hidden_layers))
    trainable.to(device).train()
    params = [p for p in trainable.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    per_epoch = math.ceil(len(examples) / config.batch_size)
    planned = per_epoch * config.epochs
    if config.max_steps:
        planned = min(planned, config.max_steps)
    scheduler = warmup_linear_schedule(
        optimiser, max(1, int(planned * config.warmup_ratio)), planned
    )
    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
    rng = random.Random(config.seed)
    order = list(range(len(examples)))
    steps, losses = 0, []
    stopped_by = "epochs"
    start = time.perf_counter()
    bar = tqdm(total=planned, desc="generator fine-tuning", disable=not config.progress)
    try:
        for _ in range(config.epochs):
            rng.shuffle(order)
            for first in range(0, len(order), config.batch_size):
                batch = [examples[i] for i in order[first : first + config.batch_size]]
                with training_autocast(device, bf16):
                    loss = trainable(**_collate(batch, pad_id, device)).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimiser.step()
                scheduler.step()
                optimiser.zero_grad(set_to_none=True)
                steps += 1
                losses.append(float(loss.detach()))
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
                if config.max_steps and steps >= config.max_steps:
                    stopped_by = "max_steps"
                elif config.max_train_seconds and (
                    time.perf_counter() - start >= config.max_train_seconds
                ):
                    stopped_by = "max_train_seconds"
                if stopped_by != "epochs":
                    break
            if stopped_by != "epochs":
                break
    finally:
        bar.close()
    train_seconds = time.perf_counter() - start
    trainable.eval().to("cpu")
    adapter = None
    merged: LlamaForCausalLM = model
    if config.method == "lora":
        adapter = {k: v.detach().clone() for k, v in get_peft_model_state_dict(trainable).items()}
        merged = trainable.merge_and_unload()  # type: ignore[operator]
    logger.info(
        "Fine-tuned the generator: %d steps in %.1f s (stopped by %s, %s), last loss %.3f.",
        steps,
        train_seconds,
        stopped_by,
        precision,
        losses[-1] if losses else math.nan,
    )
    return TuneResult(merged.eval(), adapter, steps, train_seconds, losses, stopped_by, precision)
