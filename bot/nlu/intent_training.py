"""Fit an intent model: the encoder, its calibration, the out-of-scope gate, the lexical expert.

:func:`fit` runs the whole recipe on plain texts and labels and returns a ready
:class:`~bot.nlu.intent_model.IntentModel`:

1. the encoder is fine-tuned and its temperature fitted on a stratified hold-out, then, with
   ``refit``, trained again on every example (:func:`bot.nlu.train_loop.fine_tune`);
2. the out-of-scope gate's reference is measured on the hold-out with the twin that never saw
   it (:mod:`bot.nlu.ood`);
3. the lexical expert's blend is fitted on the same hold-out, then the expert is refit on
   every example when the encoder was (:mod:`bot.nlu.lexical`);
4. examples whose label the model that never saw them strongly disputes are listed
   (:mod:`bot.nlu.label_noise`).

With ``cv_folds`` (cross-validation, chosen for small data by :mod:`bot.nlu.sizing`), steps
1–4 use every example's out-of-fold logits and vectors instead of one hold-out: the gate's
reference is measured fold by fold, a lexical expert per fold scores its held-out fold, and
every example is checked for label noise.

This module imports the training loop; serving (:mod:`bot.nlu.intent_model`) does not.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from bot.nlu.intent_model import IntentModel, IntentModelConfig
from bot.nlu.label_noise import disputed_labels
from bot.nlu.lexical import LexicalExpert, calibrate_blend
from bot.nlu.ood import NeighbourGate, neighbour_similarity, normalise_rows
from bot.nlu.train_loop import CalibrationFold, FineTuneResult, fine_tune, out_of_fold

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
    if result.folds:
        return _fit_cross_validated(texts, labels, result, config)
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
    noise = None
    if holdout:
        # Only the hold-out was scored by a model that never saw it.
        hold_texts = [texts[i] for i in holdout]
        hold_probs = torch.softmax(held_out.outputs(hold_texts)[0] / result.meta.temperature, -1)
        noise = disputed_labels(
            hold_probs,
            [targets[i] for i in holdout],
            hold_texts,
            result.meta.labels,
            config.label_noise_threshold,
            rows=holdout,
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
        "calibration": "holdout" if holdout else "none",
        "label_noise": noise,
    }
    return model


def _fit_cross_validated(
    texts: list[str], labels: Sequence[str], result: FineTuneResult, config: IntentModelConfig
) -> IntentModel:
    """Finish a cross-validated fit: gate, lexical blend and label check on out-of-fold data.

    Args:
        texts: Every training text.
        labels: The intent of each text.
        result: The fine-tuning run, with its folds; its model trained on every example.
        config: Settings of the gate, the lexical expert and the label check.

    Returns:
        The model, with ``training_report`` filled in.
    """
    model = IntentModel(result.model, result.tokenizer, result.meta, config)
    names = result.meta.labels
    index = {name: i for i, name in enumerate(names)}
    targets = [index[label] for label in labels]
    folds = result.folds
    logits = out_of_fold(folds)
    temperature = result.meta.temperature
    target_tensor = torch.tensor(targets, dtype=torch.long)
    if config.ood_quantile > 0:
        model.gate = NeighbourGate.from_reference(
            model.outputs(texts)[1].numpy(),
            _fold_reference(folds, config.ood_neighbours),
            k=config.ood_neighbours,
            quantile=config.ood_quantile,
        )
        logger.info(
            "Out-of-scope gate: %d training vectors, %d out-of-fold references, quantile %.3f",
            len(model.gate.bank),
            len(model.gate.reference),
            config.ood_quantile,
        )
    probabilities = torch.softmax(logits / temperature, dim=-1)
    lexical_report: dict[str, Any] | None = None
    if config.lexical_weight > 0:
        scores = _fold_lexical_scores(texts, targets, folds, len(names), config)
        served = LexicalExpert.train(
            texts,
            targets,
            len(names),
            config.lexical_weight,
            config.lexical_c,
            config.training.seed,
        )
        expert = calibrate_blend(served, logits, temperature, texts, target_tensor, scores)
        blended = expert.combine(logits, temperature, scores)
        probabilities = torch.softmax(blended, dim=-1)
        model.lexical = expert
        logger.info(
            "Lexical expert: weight %.2f, margin scale %.3f, blend temperature %.3f "
            "(fitted out of fold)",
            config.lexical_weight,
            expert.scale,
            expert.temperature,
        )
        lexical_report = {
            "weight": config.lexical_weight,
            "margin_scale": round(expert.scale, 4),
            "blend_temperature": round(expert.temperature, 4),
            "holdout_accuracy_transformer": _accuracy(logits, target_tensor),
            "holdout_accuracy_blend": _accuracy(blended, target_tensor),
        }
    noise = disputed_labels(probabilities, targets, texts, names, config.label_noise_threshold)
    model.training_report = {
        "examples": len(texts),
        "intents": len(names),
        "steps": result.steps,
        "train_seconds": round(result.train_seconds, 2),
        "precision": result.precision,
        "temperature": temperature,
        "holdout_accuracy": result.holdout_accuracy,
        "refit_on_all_data": True,
        "epoch_losses": [round(x, 4) for x in result.losses],
        "ood_gate": model.gate is not None,
        "lexical_expert": lexical_report,
        "calibration": f"cross_validation ({len(folds)} folds, out-of-fold on every example)",
        "label_noise": noise,
    }
    return model


def _fold_reference(folds: Sequence[CalibrationFold], neighbours: int) -> np.ndarray:
    """Return the out-of-fold in-scope neighbour similarities.

    Each fold's held-out examples are compared with its own training examples, in that
    fold model's sentence space.
    """
    parts: list[np.ndarray] = []
    for fold in folds:
        held = set(fold.holdout)
        train_rows = [i for i in range(len(fold.vectors)) if i not in held]
        vectors = normalise_rows(fold.vectors.numpy())
        parts.append(
            neighbour_similarity(vectors[list(fold.holdout)], vectors[train_rows], neighbours)
        )
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def _fold_lexical_scores(
    texts: Sequence[str],
    targets: Sequence[int],
    folds: Sequence[CalibrationFold],
    num_labels: int,
    config: IntentModelConfig,
) -> torch.Tensor:
    """Every example's n-gram margins from an expert trained without its fold."""
    scores = torch.zeros(len(texts), num_labels)
    for fold in folds:
        held = set(fold.holdout)
        train_rows = [i for i in range(len(texts)) if i not in held]
        expert = LexicalExpert.train(
            [texts[i] for i in train_rows],
            [targets[i] for i in train_rows],
            num_labels,
            config.lexical_weight,
            config.lexical_c,
            config.training.seed,
        )
        rows = list(fold.holdout)
        scores[rows] = expert.scores([texts[i] for i in rows])
    return scores


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
