"""Calibrated intent prediction with a fine-tuned intent encoder."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase

from bot.nlu import encoder
from bot.nlu.batching import predict_outputs, tokenize
from bot.nlu.encoder import IntentEncoder, IntentModelMeta
from bot.nlu.lexical import LexicalExpert
from bot.nlu.ood import NeighbourGate
from common.device import resolve_device

logger = logging.getLogger(__name__)

# Written by models trained with the nearest-neighbour vote, since removed.
REMOVED_VOTE_FILE = "vote.json"


@dataclass(frozen=True)
class IntentScore:
    """One intent and its calibrated probability."""

    name: str
    confidence: float


class IntentPredictor:
    """Score messages with a trained model; confidences are temperature-calibrated.

    Args:
        model: The trained model.
        tokenizer: Its tokenizer.
        meta: Labels, token limit and temperature.
        device: Where to run the model.
        gate: Out-of-scope gate that scales down the confidences of unfamiliar messages
            (see :mod:`bot.nlu.ood`); ``None`` leaves the calibrated softmax as it is.
        lexical: N-gram expert whose margins join the logits (see :mod:`bot.nlu.lexical`);
            ``None`` for the transformer alone.
    """

    def __init__(
        self,
        model: IntentEncoder,
        tokenizer: PreTrainedTokenizerBase,
        meta: IntentModelMeta,
        device: torch.device | None = None,
        gate: NeighbourGate | None = None,
        lexical: LexicalExpert | None = None,
    ) -> None:
        self.device = device or torch.device("cpu")
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.meta = meta
        self.gate = gate
        self.lexical = lexical
        self.pad_id = int(tokenizer.pad_token_id or 0)

    @classmethod
    def from_dir(
        cls,
        directory: Path,
        device: str = "auto",
        ood_quantile: float | None = None,
        lexical_weight: float | None = None,
    ) -> IntentPredictor:
        """Load a predictor, with its gate and lexical expert if saved.

        Args:
            directory: Folder written by :func:`bot.nlu.encoder.save`.
            device: Device option, as in :class:`~bot.nlu.train_loop.FineTuneConfig`.
            ood_quantile: Overrides the gate's saved quantile (``0`` turns it off).
            lexical_weight: Overrides the lexical expert's saved weight (``0`` turns it off).

        Returns:
            The predictor.
        """
        model, tokenizer, meta = encoder.load(directory)
        if (directory / REMOVED_VOTE_FILE).is_file():
            logger.warning(
                "This intent model was trained with the nearest-neighbour vote, which was "
                "removed; it serves without it. Retrain to silence this warning."
            )
        gate = NeighbourGate.load(directory, ood_quantile)
        lexical = LexicalExpert.load(directory, lexical_weight)
        return cls(model, tokenizer, meta, resolve_device(device), gate, lexical)

    def outputs(
        self, texts: Sequence[str], batch_size: int = 64
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the raw logits and sentence vectors of ``texts``.

        Args:
            texts: Non-empty messages.
            batch_size: Texts per forward pass.

        Returns:
            ``(n, num_labels)`` logits and ``(n, hidden)`` vectors.
        """
        encoded = tokenize(self.tokenizer, texts, self.meta.max_length)
        return predict_outputs(self.model, encoded, self.pad_id, self.device, batch_size)

    @property
    def labels(self) -> tuple[str, ...]:
        """Intent names in logit order."""
        return self.meta.labels

    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Return calibrated intent probabilities.

        With a lexical expert, its margins are added to the logits before the softmax.
        With a gate, the probabilities of a message unlike the training
        data are then scaled down by its gate factor (they then sum to less than one).

        Args:
            texts: Non-empty messages.
            batch_size: Texts per forward pass.

        Returns:
            ``(len(texts), num_labels)`` probabilities.
        """
        if not texts:
            return torch.empty(0, len(self.labels))
        logits, vectors = self.outputs(texts, batch_size)
        if self.lexical is not None:
            probs = self.lexical.blend(logits, self.meta.temperature, texts)
        else:
            probs = torch.softmax(logits / self.meta.temperature, dim=-1)
        if self.gate is not None and self.gate.active:
            factors = torch.from_numpy(self.gate.factors(vectors.numpy()))
            probs = probs * factors.unsqueeze(1)
        return probs

    def rank(self, texts: Sequence[str], top_k: int = 10) -> list[list[IntentScore]]:
        """Return the ``top_k`` intents of each message, most likely first.

        Args:
            texts: Non-empty messages.
            top_k: How many intents to keep per message.

        Returns:
            One ranking per message.
        """
        probs = self.probabilities(texts)
        k = min(top_k, len(self.labels))
        values, indices = probs.topk(k, dim=-1)
        return [
            [IntentScore(self.labels[int(i)], float(v)) for v, i in zip(row_v, row_i, strict=True)]
            for row_v, row_i in zip(values.tolist(), indices.tolist(), strict=True)
        ]
