"""Does an answer address the question? A MiniLM cosine, calibrated into a probability.

The score is the cosine of the question's and the answer's MiniLM embeddings (through the
:class:`common.embeddings.Embedder` seam). A raw cosine is not a probability: for MiniLM an
on-topic reply to a short question typically scores 0.3-0.75 and an off-topic one -0.1-0.25,
and the border moves with the domain. Platt scaling turns it into one:
``P(relevant) = 1 / (1 + exp(-(slope * cosine + intercept)))``, with the two parameters
fitted by :func:`fit_relevance_calibration` on labelled (question, answer, relevant?)
examples and kept in a small JSON file (:meth:`RelevanceCalibration.save`).

Defaults (:data:`DEFAULT_SLOPE`, :data:`DEFAULT_INTERCEPT`) are this module's own fit on
the sample bot's pairs, built as :func:`calibration_examples_from_pairs` describes (seed 0):
the 250 pairs of ``data/generation/pairs.jsonl`` give 250 relevant and 250 irrelevant
examples. The packaged all-MiniLM-L6-v2 scored the relevant ones at a median cosine of
0.54 (5th percentile 0.28) and the irrelevant ones at 0.045 (95th percentile 0.25). The
fit is slope 22.63, intercept -5.89: probability 0.5 at a cosine of 0.26, with 96.2% of the
500 examples on the right side of it. Those are past agent replies, not answers written
from passages: refit on the company's own (question, answer) pairs when there are some
(the evaluation's development half), never on its test half.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bot.nlg.generation.pairs import GenerationPair
from common.embeddings import Embedder
from common.errors import ConfigError, TrainingDataError

logger = logging.getLogger(__name__)

DEFAULT_SLOPE = 22.63
DEFAULT_INTERCEPT = -5.89
CALIBRATION_FILE = "relevance_calibration.json"


@dataclass(frozen=True)
class RelevanceExample:
    """A labelled (question, answer) pair for calibration.

    Attributes:
        question: The customer's question.
        answer: A reply.
        relevant: Whether the reply addresses the question.
    """

    question: str
    answer: str
    relevant: bool


@dataclass(frozen=True)
class RelevanceCalibration:
    """Platt scaling of the question-answer cosine.

    Attributes:
        slope: Multiplies the cosine (positive: a higher cosine is more relevant).
        intercept: Added before the logistic function.
        examples: How many examples it was fitted on (0: the documented defaults).
    """

    slope: float = DEFAULT_SLOPE
    intercept: float = DEFAULT_INTERCEPT
    examples: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.slope) and math.isfinite(self.intercept)):
            raise ConfigError("relevance calibration: slope and intercept must be finite")
        if self.slope <= 0:
            raise ConfigError("relevance calibration: slope must be positive")
        if self.examples < 0:
            raise ConfigError("relevance calibration: examples cannot be negative")

    def probability(self, cosine: float) -> float:
        """Return the calibrated probability that an answer with this cosine is relevant.

        Args:
            cosine: Question-answer cosine similarity.

        Returns:
            A probability in [0, 1].
        """
        z = self.slope * cosine + self.intercept
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    @property
    def midpoint(self) -> float:
        """The cosine at which the probability is 0.5."""
        return -self.intercept / self.slope

    def save(self, path: Path) -> None:
        """Write the calibration as JSON.

        Args:
            path: The file (usually :data:`CALIBRATION_FILE` in a model folder).
        """
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> RelevanceCalibration:
        """Read a calibration written by :meth:`save`.

        Args:
            path: The file.

        Returns:
            The calibration.

        Raises:
            ConfigError: If the file is missing or is not a calibration.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(float(data["slope"]), float(data["intercept"]), int(data["examples"]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"cannot read the relevance calibration {path}: {e}") from e


def answer_cosines(
    embedder: Embedder, questions: Sequence[str], answers: Sequence[str]
) -> np.ndarray:
    """Return the cosine of each question with its answer.

    Args:
        embedder: The sentence encoder (unit-length rows).
        questions: Questions.
        answers: One answer per question.

    Returns:
        A float array of cosines, one per pair.
    """
    if len(questions) != len(answers):
        raise ValueError("answer_cosines: one answer per question")
    if not questions:
        return np.zeros(0, dtype=np.float64)
    vectors = np.asarray(embedder.encode([*questions, *answers]), dtype=np.float64)
    q, a = vectors[: len(questions)], vectors[len(questions) :]
    return np.clip((q * a).sum(axis=1), -1.0, 1.0)


def platt_fit(scores: np.ndarray, labels: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """Fit Platt scaling (a one-feature logistic regression) by Newton's method.

    Targets are Platt's smoothed labels, ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``, so
    perfectly separated examples still give finite parameters.

    Args:
        scores: The feature (cosines).
        labels: 1 for relevant, 0 for not.
        iterations: Newton steps at most.

    Returns:
        ``(slope, intercept)``.
    """
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    positives = float(y.sum())
    negatives = float(len(y) - positives)
    target = np.where(y > 0.5, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    features = np.stack([x, np.ones_like(x)], axis=1)
    params = np.zeros(2)

    def loss(p: np.ndarray) -> float:
        z = features @ p
        return float(np.sum(np.logaddexp(0.0, z) - target * z))

    current = loss(params)
    for _ in range(iterations):
        prob = 1.0 / (1.0 + np.exp(-(features @ params)))
        gradient = features.T @ (prob - target)
        weights = prob * (1 - prob)
        hessian = features.T @ (features * weights[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        size = 1.0
        while size > 1e-8:
            candidate = params - size * step
            value = loss(candidate)
            if value <= current + 1e-12:
                break
            size /= 2
        else:
            break
        converged = abs(current - value) < 1e-10
        params, current = candidate, value
        if converged:
            break
    return float(params[0]), float(params[1])


def fit_relevance_calibration(
    examples: Sequence[RelevanceExample], embedder: Embedder
) -> RelevanceCalibration:
    """Fit the calibration's two parameters on labelled examples.

    Args:
        examples: Relevant and irrelevant (question, answer) pairs; both kinds needed.
        embedder: The encoder the gate will use (MiniLM in production).

    Returns:
        The fitted calibration.

    Raises:
        TrainingDataError: Without at least one relevant and one irrelevant example, or
            when the fit does not rank relevant answers above irrelevant ones.
    """
    labels = np.array([1.0 if e.relevant else 0.0 for e in examples])
    if not labels.any() or labels.all():
        raise TrainingDataError("relevance calibration needs relevant and irrelevant examples")
    cosines = answer_cosines(embedder, [e.question for e in examples], [e.answer for e in examples])
    slope, intercept = platt_fit(cosines, labels)
    if not slope > 0:
        raise TrainingDataError(
            "relevance calibration: irrelevant answers scored as high as relevant ones"
        )
    calibration = RelevanceCalibration(slope, intercept, len(examples))
    logger.info(
        "Relevance calibration on %d examples: slope %.2f, intercept %.2f (0.5 at cosine %.3f).",
        len(examples),
        slope,
        intercept,
        calibration.midpoint,
    )
    return calibration


def calibration_examples_from_pairs(
    pairs: Sequence[GenerationPair], seed: int = 0
) -> list[RelevanceExample]:
    """Build a labelled calibration set from a bot's own generation pairs.

    Each pair gives two examples: its customer message with the agent's true reply
    (relevant), and the same message with the reply of a pair of another intent, drawn at
    random with ``seed`` (irrelevant). Pairs without an intent count as one intent of their
    own. Replies of the same intent are never used as negatives: two product questions can
    share an answer, and a false negative would drag the border down.

    Args:
        pairs: Generation pairs (e.g. ``data/generation/pairs.jsonl``).
        seed: Seed of the draw.

    Returns:
        Two examples per pair whose intent has a different intent to draw from (only the
        positive one otherwise).
    """
    rng = random.Random(seed)
    intents = {pair.intent for pair in pairs}
    examples = []
    for pair in pairs:
        examples.append(RelevanceExample(pair.customer, pair.agent, True))
        if len(intents) < 2:
            continue
        while (other := rng.choice(pairs)).intent == pair.intent:
            pass
        examples.append(RelevanceExample(pair.customer, other.agent, False))
    return examples


@dataclass(frozen=True)
class RelevanceScore:
    """The relevance of one answer.

    Attributes:
        cosine: Question-answer cosine.
        probability: Its calibrated probability of being relevant.
    """

    cosine: float
    probability: float


class RelevanceScorer:
    """Scores answers against questions.

    Args:
        embedder: The sentence encoder.
        calibration: The Platt parameters (default: the documented defaults).
    """

    def __init__(self, embedder: Embedder, calibration: RelevanceCalibration | None = None):
        self.embedder = embedder
        self.calibration = calibration or RelevanceCalibration()

    def score(self, question: str, answer: str) -> RelevanceScore:
        """Return the relevance of an answer to a question.

        Args:
            question: The customer's question (for a follow-up, the caller may pass the
                question rewritten with its context).
            answer: The answer.

        Returns:
            Its cosine and calibrated probability.
        """
        [cosine] = answer_cosines(self.embedder, [question], [answer])
        return RelevanceScore(float(cosine), self.calibration.probability(float(cosine)))
