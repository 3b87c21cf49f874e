"""Nearest-neighbour vote: blend the classifier's softmax with the intents of similar examples.

A fine-tuned classifier head generalises from its training examples; a nearest-neighbour
vote in the same sentence space remembers them. Blending the two (kNN-augmented
classification) recovers part of what the head smooths away, most of all for intents
whose examples are phrased in several distinct ways.

:class:`NeighbourVote` keeps the L2-normalised sentence vectors of every training example
(the *bank*, held-out calibration examples included) with their intents. For a message it
takes the ``k`` most similar bank vectors, weights them by ``softmax(similarity /
sharpness)`` and sums the weights per intent. The component's confidences become
``(1 - weight) * softmax + weight * vote``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bot.nlu.ood import nearest_neighbours, normalise_rows
from common.errors import ConfigError

logger = logging.getLogger(__name__)

VOTE_BANK_FILE = "vote_bank.npy"
VOTE_LABELS_FILE = "vote_labels.npy"
VOTE_FILE = "vote.json"


@dataclass(frozen=True)
class NeighbourVote:
    """Intent probabilities from the ``k`` training examples nearest to a message.

    Attributes:
        bank: ``(m, d)`` unit vectors of the training examples.
        labels: ``(m,)`` intent index of each bank vector.
        num_labels: Number of intents.
        k: Neighbours that vote.
        sharpness: Softmax temperature over the neighbours' cosine similarities; small
            values let the closest neighbour dominate.
        weight: Share of the vote in the blended confidences, in ``[0, 1]``.
    """

    bank: np.ndarray
    labels: np.ndarray
    num_labels: int
    k: int = 5
    sharpness: float = 0.02
    weight: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ConfigError(f"neighbour vote weight must be in [0, 1], got {self.weight}")
        if self.k < 1:
            raise ConfigError(f"neighbour vote k must be >= 1, got {self.k}")
        if self.sharpness <= 0:
            raise ConfigError(f"neighbour vote sharpness must be > 0, got {self.sharpness}")
        if len(self.bank) != len(self.labels):
            raise ConfigError(
                f"neighbour vote bank has {len(self.bank)} vectors but {len(self.labels)} labels"
            )
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= self.num_labels):
            raise ConfigError("neighbour vote labels must index the model's intents")

    @classmethod
    def fit(
        cls,
        vectors: np.ndarray,
        labels: np.ndarray,
        num_labels: int,
        k: int = 5,
        sharpness: float = 0.02,
        weight: float = 0.2,
    ) -> NeighbourVote:
        """Build the vote from the sentence vectors of the training examples.

        Args:
            vectors: ``(m, d)`` sentence vectors (normalised here).
            labels: ``(m,)`` intent index of each example.
            num_labels: Number of intents.
            k: Neighbours that vote.
            sharpness: Softmax temperature over the neighbours' similarities.
            weight: Share of the vote in the blended confidences.

        Returns:
            The vote.
        """
        return cls(
            bank=normalise_rows(vectors),
            labels=np.asarray(labels, dtype=np.int64),
            num_labels=num_labels,
            k=k,
            sharpness=sharpness,
            weight=weight,
        )

    @property
    def active(self) -> bool:
        """Whether the vote changes anything (a weight and a non-empty bank)."""
        return self.weight > 0 and len(self.bank) > 0

    def probabilities(self, vectors: np.ndarray, block: int = 1024) -> torch.Tensor:
        """Return each message's vote: the neighbours' weights summed per intent.

        Args:
            vectors: ``(n, d)`` sentence vectors of the messages.
            block: Messages per matrix product, to bound memory.

        Returns:
            ``(n, num_labels)`` probabilities (rows sum to one).
        """
        out = torch.zeros(len(vectors), self.num_labels)
        if len(self.bank) == 0:
            return out
        values, indices = nearest_neighbours(normalise_rows(vectors), self.bank, self.k, block)
        weights = torch.softmax(values / self.sharpness, dim=1)
        return out.scatter_add_(1, torch.from_numpy(self.labels)[indices], weights)

    def blend(self, probs: torch.Tensor, vectors: np.ndarray) -> torch.Tensor:
        """Blend the classifier's probabilities with the vote.

        Args:
            probs: ``(n, num_labels)`` calibrated softmax probabilities.
            vectors: ``(n, d)`` sentence vectors of the same messages.

        Returns:
            ``(1 - weight) * probs + weight * vote``; ``probs`` itself when inactive.
        """
        if not self.active:
            return probs
        return (1.0 - self.weight) * probs + self.weight * self.probabilities(vectors)

    def save(self, directory: Path) -> None:
        """Write the bank (float16), its labels and the settings into ``directory``."""
        np.save(directory / VOTE_BANK_FILE, self.bank.astype(np.float16))
        np.save(directory / VOTE_LABELS_FILE, self.labels.astype(np.int32))
        payload = {
            "num_labels": self.num_labels,
            "k": self.k,
            "sharpness": self.sharpness,
            "weight": self.weight,
        }
        (directory / VOTE_FILE).write_text(json.dumps(payload), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, weight: float | None = None) -> NeighbourVote | None:
        """Load a vote saved by :meth:`save`; ``None`` for a model trained without one.

        Args:
            directory: The checkpoint folder.
            weight: Overrides the saved weight (the component's current setting).

        Returns:
            The vote, or ``None``.
        """
        paths = [directory / name for name in (VOTE_FILE, VOTE_BANK_FILE, VOTE_LABELS_FILE)]
        if not all(path.is_file() for path in paths):
            return None
        raw = json.loads(paths[0].read_text(encoding="utf-8"))
        return cls(
            bank=np.load(paths[1]).astype(np.float32),
            labels=np.load(paths[2]).astype(np.int64),
            num_labels=int(raw["num_labels"]),
            k=int(raw["k"]),
            sharpness=float(raw["sharpness"]),
            weight=float(raw["weight"] if weight is None else weight),
        )
