"""Deterministic train/test splits: stratified by intent, or by conversation id."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Split(Generic[T]):
    """One intent's examples, split.

    Attributes:
        train: Kept for training, in input order.
        test: Held out, in input order.
        too_few: True when the intent was too small to split (all in ``train``).

    """

    train: list[T]
    test: list[T]
    too_few: bool = False


def stratified_split(
    items: Sequence[T], fraction: float, seed: int, group: str, min_examples: int
) -> Split[T]:
    """Hold out ``fraction`` of one intent's examples, chosen by seed.

    At least one example is held out and at least one kept when the intent has
    ``min_examples`` or more; smaller intents go whole into the train split.

    Args:
        items: The intent's examples, in input order.
        fraction: Share to hold out (0 holds out nothing).
        seed: The run's seed.
        group: The intent name (each intent is shuffled on its own).
        min_examples: Smallest intent that is split.

    Returns:
        The split.

    """
    if fraction <= 0.0:
        return Split(list(items), [])
    if len(items) < min_examples:
        return Split(list(items), [], too_few=True)
    n_test = min(len(items) - 1, max(1, round(len(items) * fraction)))
    held = set(random.Random(f"{seed}:split:{group}").sample(range(len(items)), n_test))
    return Split(
        [x for i, x in enumerate(items) if i not in held],
        [x for i, x in enumerate(items) if i in held],
    )


def held_out(key: str, fraction: float, seed: int) -> bool:
    """Decide by hash whether a conversation belongs to the test split.

    Stable across runs and independent of input order, so pairs can be split while they
    stream.

    Args:
        key: The conversation id.
        fraction: Share to hold out.
        seed: The run's seed.

    Returns:
        True for the test split.

    """
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction
