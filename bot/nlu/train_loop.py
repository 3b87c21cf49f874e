"""The intent encoder's training loop: fine-tune end to end, calibrate, refit.

Calibration uses a stratified hold-out (then, with ``refit``, a second run on everything) or,
with ``cv_folds``, k-fold cross-validation: one model per fold, each trained without it,
gives every example an out-of-fold logit, and the served model trains on every example.

A small nanoGPT-style loop: a dataclass config (:class:`~bot.nlu.intent_model.FineTuneConfig`,
kept with the model it builds), length-bucketed batches with dynamic
padding (:mod:`bot.nlu.batching`), AdamW with a one-cycle schedule, label smoothing, a tqdm
progress bar, and temperature scaling on a stratified held-out split
(:mod:`bot.nlu.calibration`). Runs are deterministic for a fixed seed on a given device.
Serving never imports this module.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase

from bot.nlu.batching import (
    collate,
    length_bucketed_batches,
    predict_logits,
    predict_outputs,
    tokenize,
)
from bot.nlu.calibration import fit_temperature, stratified_folds, stratified_split
from bot.nlu.encoder import IntentEncoder, IntentModelMeta, load_pretrained
from bot.nlu.intent_model import FineTuneConfig
from common.device import resolve_device, seed_everything
from common.errors import TrainingDataError
from common.precision import training_autocast, use_bf16
from common.pretrained import minilm_path

# First logits of a prototype-initialised head: this many times a cosine similarity.
PROTOTYPE_SCALE = 10.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalibrationFold:
    """One cross-validation fold: what its model, trained without the fold, made of the data.

    Attributes:
        holdout: Positions (in the input) of the fold's examples, unseen by its model.
        logits: ``(n, num_labels)`` raw logits of every input text from the fold's model.
        vectors: ``(n, hidden)`` sentence vectors of every input text from the same model.
    """

    holdout: tuple[int, ...]
    logits: torch.Tensor
    vectors: torch.Tensor


@dataclass
class FineTuneResult:
    """A trained model with what was learned about it.

    Attributes:
        model: The fine-tuned model, in eval mode.
        tokenizer: Its tokenizer.
        meta: Labels, token limit and fitted temperature.
        train_seconds: Wall time of the optimisation loop.
        steps: Optimiser steps taken.
        holdout_accuracy: Accuracy on the calibration split (``None`` without one).
        losses: Mean training loss per epoch.
        holdout_indices: Positions (in the input) of the calibration split.
        precision: ``"bf16"`` or ``"fp32"``: what the training forward passes ran in.
        calibration_model: With ``refit``, the twin trained without the calibration split
            (``model`` was then trained on everything); ``None`` otherwise.
        folds: With ``cv_folds``, the folds' outputs (``model`` trained on everything);
            empty otherwise.
    """

    model: IntentEncoder
    tokenizer: PreTrainedTokenizerBase
    meta: IntentModelMeta
    train_seconds: float
    steps: int
    holdout_accuracy: float | None = None
    losses: list[float] = field(default_factory=list)
    holdout_indices: tuple[int, ...] = ()
    precision: str = "fp32"
    calibration_model: IntentEncoder | None = None
    folds: list[CalibrationFold] = field(default_factory=list)


def out_of_fold(folds: Sequence[CalibrationFold], outputs: str = "logits") -> torch.Tensor:
    """Every example's row from the fold model that never saw it.

    Args:
        folds: The folds of one cross-validation (non-empty).
        outputs: ``"logits"`` or ``"vectors"``.

    Returns:
        ``(n, width)`` rows in input order.
    """
    out = torch.empty_like(getattr(folds[0], outputs))
    for fold in folds:
        rows = list(fold.holdout)
        out[rows] = getattr(fold, outputs)[rows]
    return out


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def init_head_from_prototypes(
    model: IntentEncoder,
    encoded: Sequence[list[int]],
    targets: torch.Tensor,
    pad_id: int,
    device: torch.device,
    scale: float = PROTOTYPE_SCALE,
) -> None:
    """Start the intent head as a nearest-centroid classifier of the pretrained encoder.

    Each intent's weight row becomes the normalised mean of its examples' unit sentence
    vectors, divided by the examples' mean vector norm and multiplied by ``scale``, so a
    first logit is about ``scale`` times the cosine of the message to the intent's centroid;
    the biases start at zero. With few examples per intent this puts fine-tuning's start
    where a prototype classifier already is, instead of at a random head.

    Args:
        model: The fresh model (its encoder pretrained).
        encoded: Token ids of each training example.
        targets: ``(n,)`` class index of each example.
        pad_id: Padding token id.
        device: The model's device.
        scale: Logit scale of a cosine of 1.
    """
    _, vectors = predict_outputs(model, encoded, pad_id, device)
    norms = vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    centroids = torch.zeros(model.head.out_features, vectors.shape[1])
    centroids.index_add_(0, targets.cpu().long(), vectors / norms)
    centroids = centroids / centroids.norm(dim=1, keepdim=True).clamp_min(1e-12)
    with torch.no_grad():
        model.head.weight.copy_((centroids * scale / float(norms.mean())).to(device))
        model.head.bias.zero_()


def _train_model(
    model: IntentEncoder,
    encoded: Sequence[list[int]],
    targets: torch.Tensor,
    pad_id: int,
    config: FineTuneConfig,
    device: torch.device,
    bf16: bool,
    desc: str,
    on_epoch: Callable[[int, float], None] | None = None,
) -> tuple[list[float], int]:
    """Run the optimisation loop on ``model`` in place.

    Args:
        model: The model to train (on ``device``).
        encoded: Token ids of each training example.
        targets: ``(n,)`` class index of each example.
        pad_id: Padding token id.
        config: Hyper-parameters (epochs, batch size, schedule, seed ...).
        device: Where to train.
        bf16: Run the forward passes under bfloat16 autocast.
        desc: Label of the progress bar.
        on_epoch: Called with ``(epoch, mean_loss)`` after each epoch.

    Returns:
        The mean loss of each epoch and the number of optimiser steps.
    """
    if config.head_init == "prototype":
        init_head_from_prototypes(model, encoded, targets, pad_id, device)
    steps_per_epoch = math.ceil(len(encoded) / config.batch_size)
    epochs = max(config.epochs, math.ceil(config.min_steps / max(steps_per_epoch, 1)))
    total_steps = steps_per_epoch * epochs
    optimiser = torch.optim.AdamW(
        _param_groups(model, config.weight_decay), lr=config.learning_rate
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser,
        max_lr=config.learning_rate,
        total_steps=total_steps,
        pct_start=config.warmup_ratio,
        anneal_strategy="cos",
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    generator = random.Random(config.seed)
    lengths = [len(seq) for seq in encoded]
    logger.info("%s: %d examples, %d epochs, %d steps", desc, len(encoded), epochs, total_steps)
    losses: list[float] = []
    bar = tqdm(total=total_steps, desc=desc, unit="step", disable=not config.progress)
    model.train()
    for epoch in range(epochs):
        epoch_loss = 0.0
        batches = length_bucketed_batches(lengths, config.batch_size, generator)
        for batch in batches:
            ids, mask = collate(encoded, batch, pad_id, device)
            with training_autocast(device, bf16):
                logits = model(ids, mask)
            loss = loss_fn(logits.float(), targets[batch].to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            scheduler.step()
            epoch_loss += float(loss.item())
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
        losses.append(epoch_loss / max(len(batches), 1))
        if on_epoch is not None:
            on_epoch(epoch + 1, losses[-1])
    bar.close()
    model.eval()
    return losses, total_steps


def fine_tune(
    texts: Sequence[str],
    labels: Sequence[str],
    config: FineTuneConfig,
    on_epoch: Callable[[int, float], None] | None = None,
) -> FineTuneResult:
    """Fine-tune the packaged MiniLM encoder with a fresh intent head.

    With a calibration split, a first model trains without it and fits the temperature on
    it; with ``config.refit`` a second model then trains from the same seed on every
    example and keeps that temperature (the first is returned as ``calibration_model``).

    Args:
        texts: Training messages.
        labels: Intent of each message.
        config: Hyper-parameters.
        on_epoch: Called with ``(epoch, mean_loss)`` after each epoch of the final model.

    Returns:
        The trained, calibrated model.

    Raises:
        TrainingDataError: If there are fewer than two intents or the inputs disagree.
    """
    if len(texts) != len(labels):
        raise TrainingDataError(f"{len(texts)} texts but {len(labels)} labels")
    names = tuple(sorted(set(labels)))
    if len(names) < 2:
        raise TrainingDataError("intent classification needs at least two intents")

    if config.num_threads > 0:
        torch.set_num_threads(config.num_threads)
    device = resolve_device(config.device)
    bf16 = use_bf16(config.precision, device)
    precision = "bf16" if bf16 else "fp32"

    def fresh_model() -> tuple[IntentEncoder, PreTrainedTokenizerBase]:
        # Seeded the same way for both fits, so a refit starts exactly as a run without
        # a calibration split would.
        seed_everything(config.seed)
        fresh, fresh_tokenizer = load_pretrained(minilm_path(), len(names), config.dropout)
        return fresh.to(device), fresh_tokenizer

    model, tokenizer = fresh_model()

    index = {name: i for i, name in enumerate(names)}
    targets = [index[label] for label in labels]
    encoded = tokenize(tokenizer, texts, config.max_length)
    pad_id = int(tokenizer.pad_token_id or 0)

    if config.cv_folds:
        return _cross_validate(
            texts, names, targets, encoded, pad_id, config, device, bf16, fresh_model, on_epoch
        )

    train_idx, hold_idx = (
        stratified_split(targets, config.calibration_split, config.seed)
        if config.calibration_split > 0
        else (list(range(len(texts))), [])
    )
    refit = config.refit and bool(hold_idx)
    logger.info(
        "Fine-tuning intent encoder: %d examples, %d intents, %d held out%s, on %s in %s",
        len(train_idx),
        len(names),
        len(hold_idx),
        " (then refit on all)" if refit else "",
        device,
        precision,
    )
    started = time.perf_counter()
    losses, steps = _train_model(
        model,
        [encoded[i] for i in train_idx],
        torch.tensor([targets[i] for i in train_idx], dtype=torch.long),
        pad_id,
        config,
        device,
        bf16,
        "intent fine-tune (calibration)" if refit else "intent fine-tune",
        None if refit else on_epoch,
    )

    temperature = 1.0
    holdout_accuracy: float | None = None
    if hold_idx:
        hold_logits = predict_logits(model, [encoded[i] for i in hold_idx], pad_id, device)
        hold_targets = torch.tensor([targets[i] for i in hold_idx], dtype=torch.long)
        temperature = fit_temperature(hold_logits, hold_targets)
        holdout_accuracy = float((hold_logits.argmax(1) == hold_targets).float().mean())
        logger.info(
            "Calibrated on %d held-out examples: temperature %.3f, accuracy %.4f",
            len(hold_idx),
            temperature,
            holdout_accuracy,
        )
    calibration_model: IntentEncoder | None = None
    if refit:
        calibration_model = model.cpu()
        model, _ = fresh_model()
        losses, refit_steps = _train_model(
            model,
            encoded,
            torch.tensor(targets, dtype=torch.long),
            pad_id,
            config,
            device,
            bf16,
            "intent fine-tune (all data)",
            on_epoch,
        )
        steps += refit_steps
    train_seconds = time.perf_counter() - started
    meta = IntentModelMeta(
        labels=names,
        max_length=config.max_length,
        temperature=temperature,
        dropout=config.dropout,
    )
    return FineTuneResult(
        model=model.cpu(),
        tokenizer=tokenizer,
        meta=meta,
        train_seconds=train_seconds,
        steps=steps,
        holdout_accuracy=holdout_accuracy,
        losses=losses,
        holdout_indices=tuple(hold_idx),
        precision=precision,
        calibration_model=calibration_model,
    )


def _cross_validate(
    texts: Sequence[str],
    names: tuple[str, ...],
    targets: list[int],
    encoded: Sequence[list[int]],
    pad_id: int,
    config: FineTuneConfig,
    device: torch.device,
    bf16: bool,
    fresh_model: Callable[[], tuple[IntentEncoder, PreTrainedTokenizerBase]],
    on_epoch: Callable[[int, float], None] | None,
) -> FineTuneResult:
    """Calibrate on k-fold out-of-fold logits, then train the served model on everything.

    Each fold model starts from the same seed as the served one and trains with the same
    hyper-parameters on the other folds, so its held-out logits are those of a model like
    the served one that never saw the example.

    Args:
        texts: Training messages.
        names: Intent names in logit order.
        targets: Intent index of each message.
        encoded: Token ids of each message.
        pad_id: Padding id.
        config: Hyper-parameters, with ``cv_folds`` >= 2.
        device: Where to train.
        bf16: Train under bfloat16 autocast.
        fresh_model: Loads a freshly seeded pretrained encoder with a new head.
        on_epoch: Called after each epoch of the served model.

    Returns:
        The served model, with the folds' outputs and the out-of-fold temperature.
    """
    folds = stratified_folds(targets, config.cv_folds, config.seed)
    logger.info(
        "Fine-tuning intent encoder: %d examples, %d intents, %d-fold cross-validated "
        "calibration, then all data, on %s",
        len(texts),
        len(names),
        len(folds),
        device,
    )
    started = time.perf_counter()
    results: list[CalibrationFold] = []
    steps = 0
    for number, holdout in enumerate(folds, start=1):
        held = set(holdout)
        train_idx = [i for i in range(len(texts)) if i not in held]
        model, _ = fresh_model()
        _, fold_steps = _train_model(
            model,
            [encoded[i] for i in train_idx],
            torch.tensor([targets[i] for i in train_idx], dtype=torch.long),
            pad_id,
            config,
            device,
            bf16,
            f"intent fine-tune (fold {number}/{len(folds)})",
        )
        steps += fold_steps
        logits, vectors = predict_outputs(model, encoded, pad_id, device)
        results.append(CalibrationFold(tuple(holdout), logits, vectors))
        del model
    all_targets = torch.tensor(targets, dtype=torch.long)
    oof = out_of_fold(results)
    temperature = fit_temperature(oof, all_targets)
    accuracy = float((oof.argmax(1) == all_targets).float().mean())
    logger.info(
        "Calibrated on %d out-of-fold examples: temperature %.3f, accuracy %.4f",
        len(texts),
        temperature,
        accuracy,
    )
    model, tokenizer = fresh_model()
    losses, final_steps = _train_model(
        model, encoded, all_targets, pad_id, config, device, bf16, "intent fine-tune", on_epoch
    )
    meta = IntentModelMeta(
        labels=names,
        max_length=config.max_length,
        temperature=temperature,
        dropout=config.dropout,
    )
    return FineTuneResult(
        model=model.cpu(),
        tokenizer=tokenizer,
        meta=meta,
        train_seconds=time.perf_counter() - started,
        steps=steps + final_steps,
        holdout_accuracy=accuracy,
        losses=losses,
        precision="bf16" if bf16 else "fp32",
        folds=results,
    )
