"""Per-intent caps and the long-tail report."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")


def cap(items: Sequence[T], limit: int | None, seed: int, group: str) -> list[T]:
    """Keep at most ``limit`` items, sampled by seed, in their original order.

    Args:
        items: The items of one intent.
        limit: The cap; None keeps everything.
        seed: The run's seed.
        group: The intent name (each intent draws its own sample).

    Returns:
        The kept items.

    """
    if limit is None or len(items) <= limit:
        return list(items)
    chosen = sorted(random.Random(f"{seed}:cap:{group}").sample(range(len(items)), limit))
    return [items[i] for i in chosen]


def long_tail(counts: Mapping[str, int], below: int) -> dict[str, int]:
    """Return the intents with fewer than ``below`` examples, rarest first.

    Args:
        counts: Examples kept per intent.
        below: The threshold.

    Returns:
        Intent to count, sorted by count then name.

    """
    rare = [(n, intent) for intent, n in counts.items() if n < below]
    return {intent: n for n, intent in sorted(rare)}
