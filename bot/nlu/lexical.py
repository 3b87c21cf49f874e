"""Lexical expert: word and character n-grams with a linear SVM, blended into the logits.

A fine-tuned transformer and a sparse n-gram model make different mistakes. The encoder
generalises over paraphrases, while the n-gram model keys on exact words, product names and
misspellings the encoder's sub-word pooling blurs. Adding the two, as a product of experts,
fixes more of one's errors than it adds of the other's. The n-gram model trains in seconds
and scores a message in about a millisecond.

:class:`LexicalExpert` holds a TF-IDF vectoriser (word 1–2-grams and in-word character
2–5-grams, sublinear term frequency) and a one-vs-rest ``LinearSVC``. The component's
logits become::

    ((1 - weight) * logits / temperature + weight * scale * svm_scores) / blend_temperature

``scale`` turns the SVM's margins into log-odds and ``blend_temperature`` calibrates the
sum. Both are fitted on the calibration hold-out by :func:`calibrate_blend`, with the
models that never saw it.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline, make_union
from sklearn.svm import LinearSVC

from bot.nlu.calibration import fit_temperature
from common.errors import ConfigError, TrainingDataError

logger = logging.getLogger(__name__)

LEXICAL_MODEL_FILE = "lexical.joblib"
LEXICAL_FILE = "lexical.json"
# Score given to an intent the SVM never saw, far below any margin it produces.
_ABSENT_SCORE = -10.0


def fit_scorer(texts: Sequence[str], labels: Sequence[int], c: float, seed: int) -> Pipeline:
    """Fit the n-gram vectoriser and the linear SVM.

    Args:
        texts: Training messages.
        labels: Intent index of each message.
        c: The SVM's inverse regularisation strength.
        seed: Seed of liblinear's coordinate descent, for repeatable runs.

    Returns:
        The fitted pipeline (``decision_function`` gives per-intent margins).

    Raises:
        TrainingDataError: If there are fewer than two intents or the inputs disagree.
    """
    if len(texts) != len(labels):
        raise TrainingDataError(f"{len(texts)} texts but {len(labels)} labels")
    if len(set(labels)) < 2:
        raise TrainingDataError("the lexical expert needs at least two intents")
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    )
    pipeline = Pipeline(
        [("features", features), ("svm", LinearSVC(C=c, random_state=seed, max_iter=5000))]
    )
    with warnings.catch_warnings():
        # A margin that has not fully converged after 5,000 passes is still a usable score.
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(list(texts), np.asarray(labels, dtype=np.int64))
    return pipeline


@dataclass(frozen=True)
class LexicalExpert:
    """An n-gram SVM and how its margins join the transformer's logits.

    Attributes:
        pipeline: Fitted TF-IDF features and linear SVM.
        num_labels: Number of intents (the transformer's logit width).
        weight: Share of the lexical expert in the summed logits, in ``[0, 1)``.
        scale: Multiplier that turns SVM margins into log-odds.
        temperature: Divides the summed logits, so the blend stays calibrated.
    """

    pipeline: Pipeline
    num_labels: int
    weight: float = 0.3
    scale: float = 1.0
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight < 1.0:
            raise ConfigError(f"lexical weight must be in [0, 1), got {self.weight}")
        if self.scale <= 0 or self.temperature <= 0:
            raise ConfigError("lexical scale and temperature must be > 0")

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[int],
        num_labels: int,
        weight: float,
        c: float = 1.0,
        seed: int = 42,
    ) -> LexicalExpert:
        """Train an uncalibrated expert (scale and temperature 1).

        Args:
            texts: Training messages.
            labels: Intent index of each message.
            num_labels: Number of intents.
            weight: Share of the expert in the blend.
            c: The SVM's inverse regularisation strength.
            seed: Seed of the SVM's solver.

        Returns:
            The expert.
        """
        return cls(fit_scorer(texts, labels, c, seed), num_labels, weight)

    @property
    def active(self) -> bool:
        """Whether the expert changes anything."""
        return self.weight > 0

    def scores(self, texts: Sequence[str]) -> torch.Tensor:
        """Return the SVM's margin for every intent.

        Args:
            texts: Messages.

        Returns:
            ``(len(texts), num_labels)`` margins; intents the SVM never saw get a very
            low score.
        """
        out = np.full((len(texts), self.num_labels), _ABSENT_SCORE, dtype=np.float32)
        if not texts:
            return torch.from_numpy(out)
        raw = np.asarray(self.pipeline.decision_function(list(texts)), dtype=np.float32)
        classes = self.pipeline.classes_
        if raw.ndim == 1:  # two intents: one margin, positive for classes[1]
            raw = np.stack([-raw, raw], axis=1)
        out[:, classes] = raw
        return torch.from_numpy(out)

    def combine(
        self, logits: torch.Tensor, temperature: float, scores: torch.Tensor
    ) -> torch.Tensor:
        """Sum the transformer's logits and the scaled margins, then calibrate.

        Args:
            logits: ``(n, num_labels)`` raw transformer logits.
            temperature: The transformer's own softmax temperature.
            scores: ``(n, num_labels)`` margins from :meth:`scores`.

        Returns:
            ``(n, num_labels)`` logits whose softmax is the blended distribution.
        """
        mixed = (1.0 - self.weight) * logits / temperature + self.weight * self.scale * scores
        return mixed / self.temperature

    def blend(self, logits: torch.Tensor, temperature: float, texts: Sequence[str]) -> torch.Tensor:
        """Return calibrated probabilities of the blend (the plain softmax when inactive).

        Args:
            logits: ``(n, num_labels)`` raw transformer logits.
            temperature: The transformer's softmax temperature.
            texts: The same ``n`` messages.

        Returns:
            ``(n, num_labels)`` probabilities.
        """
        if not self.active:
            return torch.softmax(logits / temperature, dim=-1)
        return torch.softmax(self.combine(logits, temperature, self.scores(texts)), dim=-1)

    def save(self, directory: Path) -> None:
        """Write the fitted pipeline and the blend settings into ``directory``."""
        joblib.dump(self.pipeline, directory / LEXICAL_MODEL_FILE)
        payload = {
            "num_labels": self.num_labels,
            "weight": self.weight,
            "scale": self.scale,
            "temperature": self.temperature,
        }
        (directory / LEXICAL_FILE).write_text(json.dumps(payload), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, weight: float | None = None) -> LexicalExpert | None:
        """Load an expert saved by :meth:`save`; ``None`` for a model trained without one.

        Args:
            directory: The checkpoint folder (written by this project's training only:
                the pipeline is a joblib pickle).
            weight: Overrides the saved weight; ``0`` turns the expert off.

        Returns:
            The expert, or ``None``.
        """
        paths = [directory / LEXICAL_FILE, directory / LEXICAL_MODEL_FILE]
        if not all(path.is_file() for path in paths):
            return None
        raw = json.loads(paths[0].read_text(encoding="utf-8"))
        return cls(
            pipeline=joblib.load(paths[1]),
            num_labels=int(raw["num_labels"]),
            weight=float(raw["weight"] if weight is None else weight),
            scale=float(raw["scale"]),
            temperature=float(raw["temperature"]),
        )


def calibrate_blend(
    expert: LexicalExpert,
    holdout_logits: torch.Tensor,
    temperature: float,
    holdout_texts: Sequence[str],
    holdout_targets: torch.Tensor,
    holdout_scores: torch.Tensor | None = None,
) -> LexicalExpert:
    """Fit the margin scale and the blend temperature on held-out examples.

    Both models must not have seen the hold-out: the expert here is the one trained
    without it, and ``holdout_logits`` come from the transformer trained without it.

    Args:
        expert: The lexical expert trained without the hold-out.
        holdout_logits: ``(n, num_labels)`` raw transformer logits of the hold-out.
        temperature: The transformer's fitted temperature.
        holdout_texts: The hold-out messages.
        holdout_targets: ``(n,)`` their intent indices.
        holdout_scores: The hold-out's margins when they come from experts other than
            ``expert`` (cross-validation: each example scored by the fold's expert that
            never saw it); by default ``expert.scores(holdout_texts)``.

    Returns:
        ``expert`` with ``scale`` and ``temperature`` fitted.
    """
    scores = expert.scores(holdout_texts) if holdout_scores is None else holdout_scores
    scale = 1.0 / fit_temperature(scores, holdout_targets)
    scaled = replace(expert, scale=scale, temperature=1.0)
    blend_temperature = fit_temperature(
        scaled.combine(holdout_logits, temperature, scores), holdout_targets
    )
    return replace(scaled, temperature=blend_temperature)
