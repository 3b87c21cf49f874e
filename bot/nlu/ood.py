"""Out-of-scope detection by nearest neighbours in the fine-tuned sentence space.

A softmax is confident about messages unlike anything it was trained on whenever they
happen to fall far from the other intents; the maximum probability alone therefore misses
many out-of-scope messages. The sentence vectors of the fine-tuned encoder carry the
missing signal: an in-scope message lies close to some training example, an out-of-scope
one does not (nearest-neighbour OOD detection, Sun et al., ICML 2022).

:class:`NeighbourGate` keeps the L2-normalised vectors of the training examples (the
*bank*) and, from the held-out calibration split, the distribution of in-scope
similarities. At run time a message's similarity to its nearest training examples is
turned into a *typicality*: the share of held-out in-scope messages that were no closer to
the training data (a conformal p-value). Messages less typical than ``quantile`` have
their intent confidences scaled down in proportion, so that one threshold (Rasa's
``FallbackClassifier``) rejects both ambiguous and unfamiliar messages.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from common.errors import ConfigError

logger = logging.getLogger(__name__)

BANK_FILE = "ood_bank.npy"
GATE_FILE = "ood_gate.json"


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Return ``vectors`` scaled to unit length per row, as float32.

    Args:
        vectors: ``(n, d)`` vectors.

    Returns:
        ``(n, d)`` unit vectors (zero rows stay zero).
    """
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.maximum(norms, 1e-12)


def nearest_neighbours(
    queries: np.ndarray, bank: np.ndarray, k: int, block: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities and bank positions of each query's ``k`` nearest bank vectors.

    Args:
        queries: ``(n, d)`` unit vectors.
        bank: ``(m, d)`` unit vectors, ``m >= 1``.
        k: Neighbours per query (capped at ``m``).
        block: Queries per matrix product, to bound memory.

    Returns:
        ``(n, k)`` similarities, highest first, and the ``(n, k)`` bank rows they belong to.
    """
    k = max(1, min(k, len(bank)))
    # torch, not numpy, for the product: the encoder already runs on torch's thread pool,
    # and a second BLAS pool (numpy's) beside it made one message in twenty wait ~30 ms.
    bank_t = torch.from_numpy(np.ascontiguousarray(bank, dtype=np.float32))
    query_t = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32))
    values = torch.empty(len(queries), k)
    indices = torch.empty(len(queries), k, dtype=torch.long)
    with torch.inference_mode():
        for start in range(0, len(queries), block):
            top = (query_t[start : start + block] @ bank_t.T).topk(k, dim=1)
            values[start : start + block] = top.values
            indices[start : start + block] = top.indices
    return values, indices


def neighbour_similarity(
    queries: np.ndarray, bank: np.ndarray, k: int, block: int = 1024
) -> np.ndarray:
    """Mean cosine similarity of each query to its ``k`` nearest bank vectors.

    Args:
        queries: ``(n, d)`` unit vectors.
        bank: ``(m, d)`` unit vectors.
        k: Neighbours to average (capped at ``m``).
        block: Queries per matrix product, to bound memory.

    Returns:
        ``(n,)`` similarities in ``[-1, 1]``.
    """
    if len(bank) == 0:
        return np.zeros(len(queries), dtype=np.float32)
    values, _ = nearest_neighbours(queries, bank, k, block)
    return values.mean(dim=1).numpy()


@dataclass(frozen=True)
class NeighbourGate:
    """Scale intent confidences down for messages unlike the training data.

    Attributes:
        bank: ``(m, d)`` unit vectors of the training examples.
        reference: Sorted neighbour similarities of held-out in-scope examples.
        k: Neighbours averaged per message.
        quantile: Typicality below which confidences are scaled down; 0 disables the gate.
    """

    bank: np.ndarray
    reference: np.ndarray
    k: int = 1
    quantile: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 <= self.quantile < 1.0:
            raise ConfigError(f"ood quantile must be in [0, 1), got {self.quantile}")
        if self.k < 1:
            raise ConfigError(f"ood k must be >= 1, got {self.k}")

    @classmethod
    def fit(
        cls,
        train_vectors: np.ndarray,
        holdout_vectors: np.ndarray,
        k: int = 1,
        quantile: float = 0.05,
        bank_vectors: np.ndarray | None = None,
    ) -> NeighbourGate:
        """Build the gate from training vectors and held-out in-scope vectors.

        The reference distribution is measured with the held-out examples against the
        training examples only (they are unseen, as live messages are); both sets then
        form the bank.

        Args:
            train_vectors: Sentence vectors of the examples the model was trained on.
            holdout_vectors: Sentence vectors of the held-out calibration examples.
            k: Neighbours averaged per message.
            quantile: Typicality below which confidences are scaled down.
            bank_vectors: The bank to keep instead, when the model that serves was refit
                on every example: its vectors of all of them, while the two sets above
                come from the calibrated twin that never saw the hold-out.

        Returns:
            The gate.
        """
        train = normalise_rows(train_vectors)
        hold = normalise_rows(holdout_vectors)
        reference = np.sort(neighbour_similarity(hold, train, k))
        if bank_vectors is not None:
            bank = normalise_rows(bank_vectors)
        else:
            bank = np.concatenate([train, hold]) if len(hold) else train
        return cls(bank=bank, reference=reference, k=k, quantile=quantile)

    @classmethod
    def from_reference(
        cls,
        bank_vectors: np.ndarray,
        reference: np.ndarray,
        k: int = 1,
        quantile: float = 0.05,
    ) -> NeighbourGate:
        """Build the gate from a bank and in-scope similarities measured elsewhere.

        Cross-validation measures the reference fold by fold (each fold's held-out
        examples against that fold model's training examples); the bank is the served
        model's vectors of every example.

        Args:
            bank_vectors: ``(m, d)`` sentence vectors of every training example.
            reference: Neighbour similarities of in-scope examples unseen by their model.
            k: Neighbours averaged per message (as used to measure ``reference``).
            quantile: Typicality below which confidences are scaled down.

        Returns:
            The gate.
        """
        return cls(
            bank=normalise_rows(bank_vectors),
            reference=np.sort(np.asarray(reference, dtype=np.float32)),
            k=k,
            quantile=quantile,
        )

    @property
    def active(self) -> bool:
        """Whether the gate changes anything (it needs a reference and a quantile)."""
        return self.quantile > 0 and len(self.reference) > 0 and len(self.bank) > 0

    def similarity(self, vectors: np.ndarray) -> np.ndarray:
        """Neighbour similarity of each message vector to the bank."""
        return neighbour_similarity(normalise_rows(vectors), self.bank, self.k)

    def typicality(self, similarity: np.ndarray) -> np.ndarray:
        """Share of held-out in-scope messages no closer to the training data.

        Args:
            similarity: Neighbour similarities from :meth:`similarity`.

        Returns:
            Values in ``(0, 1]``; low means unlike anything in scope.
        """
        n = len(self.reference)
        below = np.searchsorted(self.reference, similarity, side="right")
        return (below + 1.0) / (n + 1.0)

    def factors(self, vectors: np.ndarray) -> np.ndarray:
        """Return the confidence factor of each message: 1 when typical, less below.

        Args:
            vectors: ``(n, d)`` sentence vectors of the messages.

        Returns:
            ``(n,)`` factors in ``(0, 1]``.
        """
        if not self.active:
            return np.ones(len(vectors), dtype=np.float32)
        typical = self.typicality(self.similarity(vectors))
        return np.minimum(1.0, typical / self.quantile).astype(np.float32)

    def save(self, directory: Path) -> None:
        """Write the bank (float16) and the settings into ``directory``."""
        np.save(directory / BANK_FILE, self.bank.astype(np.float16))
        payload = {"k": self.k, "quantile": self.quantile, "reference": self.reference.tolist()}
        (directory / GATE_FILE).write_text(json.dumps(payload), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, quantile: float | None = None) -> NeighbourGate | None:
        """Load a gate saved by :meth:`save`; ``None`` for a model trained without one.

        Args:
            directory: The checkpoint folder.
            quantile: Overrides the saved quantile (the component's current setting).

        Returns:
            The gate, or ``None``.
        """
        gate_path, bank_path = directory / GATE_FILE, directory / BANK_FILE
        if not (gate_path.is_file() and bank_path.is_file()):
            return None
        raw = json.loads(gate_path.read_text(encoding="utf-8"))
        return cls(
            bank=np.load(bank_path).astype(np.float32),
            reference=np.asarray(raw["reference"], dtype=np.float32),
            k=int(raw["k"]),
            quantile=float(raw["quantile"] if quantile is None else quantile),
        )
