"""Calibration helpers: stratified hold-out and k-fold splits, softmax temperature fitting."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence

import torch
from torch import nn


def stratified_split(
    labels: Sequence[int], fraction: float, seed: int, min_per_class: int = 5
) -> tuple[list[int], list[int]]:
    """Split indices per class, keeping rare classes wholly in the training part.

    Args:
        labels: Class index of every example.
        fraction: Share of each class to hold out.
        seed: Shuffling seed.
        min_per_class: Classes with fewer examples are never held out.

    Returns:
        ``(train_indices, holdout_indices)``.
    """
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    train: list[int] = []
    holdout: list[int] = []
    for label in sorted(by_class):
        idx = by_class[label]
        rng.shuffle(idx)
        n_hold = int(round(len(idx) * fraction)) if len(idx) >= min_per_class else 0
        holdout.extend(idx[:n_hold])
        train.extend(idx[n_hold:])
    return sorted(train), sorted(holdout)


def stratified_folds(labels: Sequence[int], folds: int, seed: int) -> list[list[int]]:
    """Deal each class's examples round-robin into ``folds`` folds, after a seeded shuffle.

    Every fold gets about the same share of every class; a class with fewer examples than
    folds is missing from some folds (and so trains in all but one fold model).

    Args:
        labels: Class index of every example.
        folds: Number of folds (>= 2).
        seed: Shuffling seed.

    Returns:
        ``folds`` sorted lists of indices that together hold every index once.
    """
    if folds < 2:
        raise ValueError(f"need at least 2 folds, got {folds}")
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    out: list[list[int]] = [[] for _ in range(folds)]
    start = 0
    for label in sorted(by_class):
        idx = by_class[label]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            # Rotate the starting fold so that small classes do not all fill fold 0 first.
            out[(start + j) % folds].append(i)
        start += len(idx)
    return [sorted(fold) for fold in out]


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, max_iter: int = 200) -> float:
    """Fit a single softmax temperature by minimising held-out negative log-likelihood.

    Args:
        logits: ``(n, classes)`` held-out logits.
        targets: ``(n,)`` true class indices.
        max_iter: L-BFGS iterations.

    Returns:
        The temperature, clamped to ``[0.05, 20]``.
    """
    logits = logits.detach().clone()  # may come from inference mode
    log_t = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter)
    loss_fn = nn.CrossEntropyLoss()

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = loss_fn(logits / log_t.exp(), targets)
        loss.backward()
        return loss

    optimiser.step(closure)
    temperature = float(log_t.exp().item())
    if not math.isfinite(temperature):
        return 1.0
    return min(max(temperature, 0.05), 20.0)
