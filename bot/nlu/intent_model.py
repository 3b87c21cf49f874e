"""The intent model: a fine-tuned encoder with calibration, out-of-scope gate and lexical expert.

It knows nothing of Rasa (:mod:`bot.nlu.intent_classifier` adapts it). Training lives apart,
in :func:`bot.nlu.intent_training.fit`, so that serving imports no training loop::

    model = fit(texts, labels, IntentModelConfig())  # bot.nlu.intent_training
    model.save(directory)
    model = IntentModel.load(directory)
    model.predict(["where is my parcel?"])  # ranked intents with calibrated confidences

The checkpoint is a folder: the encoder's weights, tokenizer and metadata
(:mod:`bot.nlu.encoder`), the gate (:mod:`bot.nlu.ood`) and the lexical expert
(:mod:`bot.nlu.lexical`) when trained, and the :class:`IntentModelConfig` it was trained with.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from bot.nlu import encoder as checkpoint
from bot.nlu.batching import predict_outputs, tokenize
from bot.nlu.encoder import IntentEncoder, IntentModelMeta
from bot.nlu.lexical import LexicalExpert
from bot.nlu.ood import NeighbourGate
from bot.nlu.sizing import HEAD_INITS
from common.device import resolve_device
from common.errors import ConfigError
from common.precision import validate_precision

logger = logging.getLogger(__name__)

CONFIG_FILE = "intent_config.json"
# Written by models trained with the nearest-neighbour vote, since removed.
REMOVED_VOTE_FILE = "vote.json"


@dataclass(frozen=True)
class FineTuneConfig:
    """Hyper-parameters of a fine-tuning run.

    Attributes:
        epochs: Passes over the training split.
        batch_size: Examples per optimiser step.
        learning_rate: Peak learning rate of the one-cycle schedule.
        warmup_ratio: Fraction of steps spent warming up.
        weight_decay: AdamW weight decay (not applied to biases and LayerNorm).
        label_smoothing: Cross-entropy label smoothing.
        dropout: Dropout before the classification head.
        max_length: Token limit; longer messages are truncated.
        calibration_split: Fraction of each intent held out to fit the temperature;
            0 disables calibration (temperature 1).
        refit: With a calibration split, train the final model again from the same seed
            on every example, hold-out included, once the temperature is fitted. The
            temperature (and the out-of-scope gate's reference) come from the calibrated
            twin trained without the hold-out, so they are never fitted on data their model
            saw, and the final model loses no training data to calibration. Doubles
            training time.
        cv_folds: With 2 or more, calibrate by cross-validation instead of a hold-out:
            as many models, each trained without one stratified fold, give every example
            an out-of-fold logit; the temperature (and the gate's reference and the
            lexical blend) are fitted on them, and the served model trains on every
            example. Requires ``calibration_split`` 0. 0 keeps the hold-out.
        min_steps: Lower bound on optimiser steps, so tiny data sets still converge.
        seed: Seed for weights of the head, shuffling and dropout.
        device: ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        num_threads: CPU threads for torch; ``0`` keeps torch's default.
        precision: ``"auto"`` (bfloat16 autocast where the device has it natively, else
            float32), ``"fp32"`` or ``"bf16"`` (see :mod:`common.precision`).
        progress: Show a progress bar.
        head_init: How each fresh intent head starts: ``"random"`` (PyTorch's default
            initialisation) or ``"prototype"``: each intent's row is the mean direction
            of its training examples under the pretrained encoder, scaled so that the
            first logits are about ``PROTOTYPE_SCALE`` times a cosine similarity (a
            nearest-centroid classifier that fine-tuning starts from).
    """

    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    dropout: float = 0.1
    max_length: int = 64
    calibration_split: float = 0.1
    refit: bool = True
    cv_folds: int = 0
    min_steps: int = 0
    seed: int = 42
    device: str = "auto"
    num_threads: int = 0
    precision: str = "auto"
    progress: bool = True
    head_init: str = "random"

    def __post_init__(self) -> None:
        validate_precision(self.precision)
        if self.head_init not in HEAD_INITS:
            raise ConfigError(f"head_init must be one of {', '.join(HEAD_INITS)}")
        if self.epochs < 1 or self.batch_size < 1 or self.max_length < 8:
            raise ConfigError("epochs and batch_size must be >= 1 and max_length >= 8")
        if not isinstance(self.refit, bool):
            raise ConfigError("refit must be true or false")
        if not 0.0 <= self.calibration_split < 0.5:
            raise ConfigError("calibration_split must be in [0, 0.5)")
        if self.cv_folds != 0 and not 2 <= self.cv_folds <= 20:
            raise ConfigError("cv_folds must be 0 (hold-out) or between 2 and 20")
        if self.cv_folds and self.calibration_split > 0:
            raise ConfigError("cv_folds and calibration_split exclude each other; set one to 0")
        if self.min_steps < 0:
            raise ConfigError("min_steps must be >= 0")


@dataclass(frozen=True)
class IntentModelConfig:
    """Everything :func:`bot.nlu.intent_training.fit` needs besides the data.

    Attributes:
        training: The encoder's fine-tuning run.
        ood_quantile: Messages less typical than this share of held-out in-scope ones get
            their confidences scaled down (:mod:`bot.nlu.ood`); 0 turns the gate off.
        ood_neighbours: Training examples whose similarity is averaged per message.
        lexical_weight: Share of the n-gram SVM in the summed logits
            (:mod:`bot.nlu.lexical`); 0 turns it off.
        lexical_c: The SVM's inverse regularisation strength.
        label_noise_threshold: An example whose calibrated probability of its own label,
            from a model that never saw it, is below this while another intent wins is
            reported as possibly mislabelled (:mod:`bot.nlu.label_noise`).
    """

    training: FineTuneConfig = field(default_factory=FineTuneConfig)
    ood_quantile: float = 0.05
    ood_neighbours: int = 1
    lexical_weight: float = 0.3
    lexical_c: float = 1.0
    label_noise_threshold: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 <= self.ood_quantile < 1.0 or self.ood_neighbours < 1:
            raise ConfigError("ood_quantile must be in [0, 1) and ood_neighbours >= 1")
        if not 0.0 <= self.lexical_weight < 1.0 or self.lexical_c <= 0:
            raise ConfigError("lexical_weight must be in [0, 1) and lexical_c > 0")
        if not 0.0 < self.label_noise_threshold <= 0.5:
            raise ConfigError("label_noise_threshold must be in (0, 0.5]")

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-ready nested dictionaries."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> IntentModelConfig:
        """Rebuild a config written by :meth:`to_dict`, ignoring keys it does not know.

        Args:
            raw: The dictionary.

        Returns:
            The config.
        """
        known = {f.name for f in fields(FineTuneConfig)}
        training = FineTuneConfig(
            **{k: v for k, v in raw.get("training", {}).items() if k in known}
        )
        own = {f.name for f in fields(cls)} - {"training"}
        return cls(training=training, **{k: v for k, v in raw.items() if k in own})


@dataclass(frozen=True)
class IntentScore:
    """One intent and its calibrated probability."""

    name: str
    confidence: float


class IntentModel:
    """Score messages with a trained intent model; confidences are calibrated.

    Args:
        encoder: The fine-tuned encoder with its intent head.
        tokenizer: Its tokenizer.
        meta: Labels, token limit and temperature.
        config: The settings it was trained with (``None`` for a checkpoint saved before
            checkpoints stored them).
        device: Where to run the encoder.
        gate: Out-of-scope gate that scales down the confidences of unfamiliar messages
            (see :mod:`bot.nlu.ood`); ``None`` leaves the calibrated softmax as it is.
        lexical: N-gram expert whose margins join the logits (see :mod:`bot.nlu.lexical`);
            ``None`` for the transformer alone.
        training_report: What training measured (set by ``fit``; empty after a load).
    """

    def __init__(
        self,
        encoder: IntentEncoder,
        tokenizer: PreTrainedTokenizerBase,
        meta: IntentModelMeta,
        config: IntentModelConfig | None = None,
        device: torch.device | None = None,
        gate: NeighbourGate | None = None,
        lexical: LexicalExpert | None = None,
        training_report: dict[str, Any] | None = None,
    ) -> None:
        self.device = device or torch.device("cpu")
        self.encoder = encoder.to(self.device).eval()
        self.tokenizer = tokenizer
        self.meta = meta
        self.config = config
        self.gate = gate
        self.lexical = lexical
        self.training_report: dict[str, Any] = training_report or {}
        self.pad_id = int(tokenizer.pad_token_id or 0)

    @staticmethod
    def is_saved(directory: Path) -> bool:
        """Whether ``directory`` holds a checkpoint written by :meth:`save`."""
        return (directory / checkpoint.META_FILE).is_file()

    def save(self, directory: Path) -> None:
        """Write the checkpoint: encoder, gate and lexical expert when present, config.

        Args:
            directory: Target folder; created if missing.
        """
        checkpoint.save(self.encoder, self.tokenizer, self.meta, directory)
        if self.gate is not None:
            self.gate.save(directory)
        if self.lexical is not None:
            self.lexical.save(directory)
        if self.config is not None:
            (directory / CONFIG_FILE).write_text(
                json.dumps(self.config.to_dict(), indent=2), encoding="utf-8"
            )

    @classmethod
    def load(
        cls,
        directory: Path,
        device: str = "auto",
        ood_quantile: float | None = None,
        lexical_weight: float | None = None,
    ) -> IntentModel:
        """Load a checkpoint written by :meth:`save`, with its gate and lexical expert.

        Args:
            directory: The checkpoint folder.
            device: Device option, as in :class:`FineTuneConfig`.
            ood_quantile: Overrides the gate's saved quantile (``0`` turns it off).
            lexical_weight: Overrides the lexical expert's saved weight (``0`` turns it off).

        Returns:
            The model.
        """
        encoder, tokenizer, meta = checkpoint.load(directory)
        if (directory / REMOVED_VOTE_FILE).is_file():
            logger.warning(
                "This intent model was trained with the nearest-neighbour vote, which was "
                "removed; it serves without it. Retrain to silence this warning."
            )
        config: IntentModelConfig | None = None
        config_path = directory / CONFIG_FILE
        if config_path.is_file():
            config = IntentModelConfig.from_dict(json.loads(config_path.read_text("utf-8")))
        gate = NeighbourGate.load(directory, ood_quantile)
        lexical = LexicalExpert.load(directory, lexical_weight)
        return cls(encoder, tokenizer, meta, config, resolve_device(device), gate, lexical)

    @property
    def labels(self) -> tuple[str, ...]:
        """Intent names in logit order."""
        return self.meta.labels

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
        return predict_outputs(self.encoder, encoded, self.pad_id, self.device, batch_size)

    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Return calibrated intent probabilities.

        With a lexical expert, its margins are added to the logits before the softmax.
        With a gate, the probabilities of a message unlike the training data are then
        scaled down by its gate factor (they then sum to less than one).

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

    def predict(
        self, texts: Sequence[str], top_k: int = 10, batch_size: int = 64
    ) -> list[list[IntentScore]]:
        """Return the ``top_k`` intents of each message, most likely first.

        Args:
            texts: Non-empty messages.
            top_k: How many intents to keep per message.
            batch_size: Texts per forward pass.

        Returns:
            One ranking per message.
        """
        probs = self.probabilities(texts, batch_size)
        k = min(top_k, len(self.labels))
        values, indices = probs.topk(k, dim=-1)
        return [
            [IntentScore(self.labels[int(i)], float(v)) for v, i in zip(row_v, row_i, strict=True)]
            for row_v, row_i in zip(values.tolist(), indices.tolist(), strict=True)
        ]
