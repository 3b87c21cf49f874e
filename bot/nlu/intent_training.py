"""Fit an intent model: the encoder, its calibration, the out-of-scope gate, the lexical expert.

:func:`fit` runs the whole recipe on plain texts and labels and returns a ready
:class:`~bot.nlu.intent_model.IntentModel`:

1. the encoder is fine-tuned and its temperature fitted on a stratified hold-out, then, with
   ``refit``, trained again on every example (:func:`bot.nlu.train_loop.fine_tune`);
2. the out-of-scope gate's reference is measured on the hold-out with the twin that never saw
   it (:mod:`bot.nlu.ood`);
3. the lexical expert's blend is fitted on the same hold-out, then the expert is refit on
   every example when the encoder was (:mod:`bot.nlu.lexical`).

This module imports the training loop; serving (:mod:`bot.nlu.intent_model`) does not.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch

from bot.nlu.intent_model import IntentModel, IntentModelConfig
from bot.nlu.lexical import LexicalExpert, calibrate_blend
from bot.nlu.ood import NeighbourGate
from bot.nlu.train_loop import fine_tune

logger = logging.getLogger(__name__)


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    config: IntentModelConfig,
    on_epoch: Callable[[int, float], None] | None = None,
) -> IntentModel:
    """Train an intent model on ``texts`` and their intents.

    Args:
        texts: Training messages (non-empty).
        labels: The intent of each message.
        config: Settings of the encoder run, the gate and the lexical expert.
        on_epoch: Called with ``(epoch, mean_loss)`` after each epoch of the served encoder.

    Returns:
        The model, on the CPU, with ``training_report`` filled in.

    Raises:
        TrainingDataError: If there are fewer than two intents or the inputs disagree.
    """
    texts = list(texts)
    result = fine_tune(texts, labels, config.training, on_epoch)
    model = IntentModel(result.model, result.tokenizer, result.meta, config)
    holdout = result.holdout_indices
    twin = result.calibration_model
    gate_wanted = config.ood_quantile > 0 and bool(holdout)
    vectors = model.outputs(texts)[1] if gate_wanted else None
    twin_vectors = None
    if twin is not None and gate_wanted:
        twin_vectors = IntentModel(twin, result.tokenizer, result.meta).outputs(texts)[1]
    model.gate = fit_gate(
        vectors, holdout, config.ood_quantile, config.ood_neighbours, twin_vectors
    )
    index = {name: i for i, name in enumerate(result.meta.labels)}
    targets = [index[label] for label in labels]
    held_out = IntentModel(
        twin if twin is not None else result.model, result.tokenizer, result.meta
    )
    model.lexical, lexical_report = fit_lexical(
        texts, targets, holdout, held_out, config, refit=twin is not None
    )
    model.training_report = {
        "examples": len(texts),
        "intents": len(result.meta.labels),
        "steps": result.steps,
        "train_seconds": round(result.train_seconds, 2),
        "precision": result.precision,
        "temperature": result.meta.temperature,
        "holdout_accuracy": result.holdout_accuracy,
        "refit_on_all_data": twin is not None,
        "epoch_losses": [round(x, 4) for x in result.losses],
        "ood_gate": model.gate is not None,
        "lexical_expert": lexical_report,
    }
    return model


def fit_gate(
    vectors: torch.Tensor | None,
    holdout: tuple[int, ...],
    quantile: float,
    neighbours: int = 1,
    twin_vectors: torch.Tensor | None = None,
) -> NeighbourGate | None:
    """Fit the out-of-scope gate on the trained encoder's sentence vectors.

    Args:
        vectors: Sentence vectors of every training text, in training order (``None`` when
            the gate is off).
        holdout: Positions of the calibration split in ``vectors``.
        quantile: Typicality below which confidences are scaled down; 0 turns the gate off.
        neighbours: Training examples whose similarity is averaged per message.
        twin_vectors: When the encoder was refit on every example, the same texts' vectors
            from the calibrated twin that never saw the hold-out: the reference is measured
            with them, and ``vectors`` become the bank.

    Returns:
        The gate, or ``None`` when it is off or there is no calibration split.
    """
    if quantile <= 0 or not holdout or vectors is None:
        if quantile > 0:
            logger.warning(
                "Out-of-scope gate needs a calibration split (calibration_split > 0); "
                "training without it."
            )
        return None
    held = set(holdout)
    train_rows = [i for i in range(len(vectors)) if i not in held]
    calibrated = vectors if twin_vectors is None else twin_vectors
    gate = NeighbourGate.fit(
        calibrated[train_rows].numpy(),
        calibrated[list(holdout)].numpy(),
        k=neighbours,
        quantile=quantile,
        bank_vectors=None if twin_vectors is None else vectors.numpy(),
    )
    logger.info(
        "Out-of-scope gate: %d training vectors, %d held-out references, quantile %.3f",
        len(gate.bank),
        len(gate.reference),
        quantile,
    )
    return gate


def fit_lexical(
    texts: Sequence[str],
    targets: Sequence[int],
    holdout: tuple[int, ...],
    held_out: IntentModel,
    config: IntentModelConfig,
    refit: bool,
) -> tuple[LexicalExpert | None, dict[str, Any] | None]:
    """Train the n-gram expert and fit its blend on the calibration hold-out.

    An expert trained without the hold-out is calibrated there against the logits of the
    transformer that never saw it either. When the transformer was refit on every example,
    the expert that serves is likewise refit on every example and keeps the fitted scale
    and temperature.

    Args:
        texts: Every training text, in training order.
        targets: The intent index of each text.
        holdout: Positions of the calibration split.
        held_out: The model whose encoder was trained without the hold-out.
        config: The lexical weight and C, and the seed.
        refit: Whether the served encoder was refit on every example.

    Returns:
        The expert (``None`` when it is off or there is no calibration split) and, for the
        training report, its settings and hold-out accuracies.
    """
    weight = config.lexical_weight
    if weight <= 0 or not holdout:
        if weight > 0:
            logger.warning(
                "The lexical expert needs a calibration split (calibration_split > 0); "
                "training without it."
            )
        return None, None
    c = config.lexical_c
    seed = config.training.seed
    num_labels = len(held_out.labels)
    held = set(holdout)
    train_rows = [i for i in range(len(texts)) if i not in held]
    expert = LexicalExpert.train(
        [texts[i] for i in train_rows],
        [targets[i] for i in train_rows],
        num_labels,
        weight,
        c,
        seed,
    )
    holdout_texts = [texts[i] for i in holdout]
    holdout_logits = held_out.outputs(holdout_texts)[0]
    holdout_targets = torch.tensor([targets[i] for i in holdout], dtype=torch.long)
    temperature = held_out.meta.temperature
    expert = calibrate_blend(expert, holdout_logits, temperature, holdout_texts, holdout_targets)
    blended = expert.blend(holdout_logits, temperature, holdout_texts)
    report = {
        "weight": weight,
        "margin_scale": round(expert.scale, 4),
        "blend_temperature": round(expert.temperature, 4),
        "holdout_accuracy_transformer": _accuracy(holdout_logits, holdout_targets),
        "holdout_accuracy_blend": _accuracy(blended, holdout_targets),
    }
    if refit:
        served = LexicalExpert.train(texts, targets, num_labels, weight, c, seed)
        expert = dataclasses.replace(expert, pipeline=served.pipeline)
    logger.info(
        "Lexical expert: weight %.2f, margin scale %.3f, blend temperature %.3f",
        weight,
        expert.scale,
        expert.temperature,
    )
    return expert, report


def _accuracy(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of rows whose highest score is the target, rounded for the report."""
    return round(float((scores.argmax(dim=1) == targets).float().mean()), 4)
