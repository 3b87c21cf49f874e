"""Can the knowledge base answer this question? A calibrated probability from two signals.

The answer gate sends a cited extract only when the help centre can answer the question,
and otherwise says plainly that the bot does not know. The dense cosine of the question
to the best passage alone is a weak judge of that: a question about something the help
centre does not cover ("what's the comfort rating of your kids sleeping bag?") is close in
meaning to a passage on a neighbouring topic (the adult bag's rating). The words the
passage lacks tell the two apart. So the decision combines:

* ``cosine``: the best dense (MiniLM) cosine of the question to a retrieved passage;
* ``coverage``: the largest share of the question's words that one retrieved passage holds,
  each word weighted by its inverse document frequency over the knowledge base
  (:meth:`bot.knowledge.lexical.LexicalIndex.coverage`), so a word no chunk holds
  ("kids") weighs most.

in a logistic model, ``P(answerable) = 1 / (1 + exp(-(a * cosine + b * coverage + c)))``.
:func:`fit_answerability` fits ``a``, ``b`` and ``c`` on labelled questions (scikit-learn's
logistic regression); :meth:`AnswerabilityModel.save` and :meth:`~AnswerabilityModel.load`
keep them as a small JSON file.

:data:`DEFAULT_ANSWERABILITY` is the fit on the development half of the sample help
centre's question set (184 questions, 37 of them unanswerable; never its test half). On
that half, in 10-fold cross-validation, the two signals separate answerable from
unanswerable questions with an ROC AUC of 0.94, against 0.83 for the cosine alone
(``docs/knowledge.md``, "Deciding whether to answer"). A company fits its own with
``python -m training kb-answerability`` on its own question set; the file it writes into
the knowledge folder (:data:`ANSWERABILITY_FILE`) travels into the model with the index
(:class:`bot.knowledge.index.KnowledgeIndex`) and the gate uses it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from common.errors import ConfigError, TrainingDataError

ANSWERABILITY_FILE = "answerability.json"
RERANK_DEPTH = 20
"""Fused hits reranked by :func:`rerank` before the best few are kept."""


class Scored(Protocol):
    """A retrieved passage's two signals (a gate passage or a search hit)."""

    @property
    def cosine(self) -> float:
        """Its dense cosine to the question."""
        ...

    @property
    def coverage(self) -> float | None:
        """The IDF-weighted share of the question's words it holds (None: not measured)."""
        ...


def signals(passages: Sequence[Scored]) -> tuple[float, float] | None:
    """Return a question's two signals from its retrieved passages.

    Args:
        passages: The retrieved passages.

    Returns:
        ``(best cosine, best coverage)``; None when no passage carries a coverage.
    """
    coverages = [p.coverage for p in passages if p.coverage is not None]
    if not coverages:
        return None
    return max(p.cosine for p in passages), max(coverages)


S = TypeVar("S", bound=Scored)


def rerank(hits: Sequence[S], model: AnswerabilityModel, k: int) -> list[S]:
    """Order retrieved passages by how well each alone answers the question; keep ``k``.

    Each passage is scored by the answerability model on its own cosine and coverage, so a
    passage that holds the question's rare words ("headlamp") moves above ones that are
    only close in meaning ("waterproof" jackets). Ties keep the fused order. Passages
    without a coverage keep the fused order.

    Args:
        hits: The fused hits, best first (e.g. :data:`RERANK_DEPTH` of them).
        model: The answerability model.
        k: How many to keep.

    Returns:
        The ``k`` best, best first.
    """
    if any(h.coverage is None for h in hits):
        return list(hits[:k])
    order = sorted(
        range(len(hits)),
        key=lambda i: (-model.probability(hits[i].cosine, hits[i].coverage or 0.0), i),
    )
    return [hits[i] for i in order[:k]]


@dataclass(frozen=True)
class AnswerabilityExample:
    """One labelled question's two signals.

    Attributes:
        cosine: The best dense cosine of the question to a retrieved passage.
        coverage: The largest IDF-weighted share of its words that one passage holds.
        answerable: Whether the knowledge base answers it.
    """

    cosine: float
    coverage: float
    answerable: bool


@dataclass(frozen=True)
class AnswerabilityModel:
    """A logistic model of P(the knowledge base answers the question).

    Attributes:
        cosine_weight: Weight of the best dense cosine.
        coverage_weight: Weight of the best word coverage.
        intercept: The bias.
        examples: How many labelled questions it was fitted on (0: set by hand).
    """

    cosine_weight: float
    coverage_weight: float
    intercept: float
    examples: int = 0

    def __post_init__(self) -> None:
        values = (self.cosine_weight, self.coverage_weight, self.intercept)
        if not all(math.isfinite(v) for v in values):
            raise ConfigError("answerability: the weights must be finite numbers")
        if self.cosine_weight < 0 or self.coverage_weight < 0:
            raise ConfigError(
                "answerability: a closer passage or more of the question's words must not "
                "lower the probability (weights must be >= 0)"
            )

    def probability(self, cosine: float, coverage: float) -> float:
        """Return P(answerable) for a question's two signals.

        Args:
            cosine: The best dense cosine of the question to a retrieved passage.
            coverage: The largest word coverage of one retrieved passage, in ``[0, 1]``.

        Returns:
            The probability.
        """
        z = self.cosine_weight * cosine + self.coverage_weight * coverage + self.intercept
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def save(self, path: Path) -> None:
        """Write the model as JSON.

        Args:
            path: The file.
        """
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> AnswerabilityModel:
        """Read a model written by :meth:`save`.

        Args:
            path: The file.

        Returns:
            The model.

        Raises:
            ConfigError: If the file is missing, not JSON, or lacks a weight.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                float(data["cosine_weight"]),
                float(data["coverage_weight"]),
                float(data["intercept"]),
                int(data.get("examples", 0)),
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"cannot read the answerability model {path}: {e}") from e


DEFAULT_ANSWERABILITY = AnswerabilityModel(
    cosine_weight=4.666, coverage_weight=6.747, intercept=-4.808, examples=184
)
"""Fitted on the sample question set's development half (see the module docstring)."""


def read_answerability(folder: Path) -> AnswerabilityModel | None:
    """Read the fitted model a folder holds, if any.

    Args:
        folder: A knowledge folder or a saved index.

    Returns:
        The model in ``folder / ANSWERABILITY_FILE``; None when there is no such file.

    Raises:
        ConfigError: If the file exists but cannot be read.
    """
    path = folder / ANSWERABILITY_FILE
    return AnswerabilityModel.load(path) if path.is_file() else None


def fit_answerability(
    examples: Sequence[AnswerabilityExample], regularisation: float = 10.0
) -> AnswerabilityModel:
    """Fit the logistic model on labelled questions.

    Args:
        examples: The questions' signals and labels; both labels must occur.
        regularisation: scikit-learn's ``C`` (inverse L2 strength; larger fits closer).

    Returns:
        The fitted model.

    Raises:
        TrainingDataError: If fewer than 10 examples, or only one label, are given, or the
            fit gives a negative weight (the signals then say nothing on this data).
    """
    from sklearn.linear_model import LogisticRegression

    labels = [e.answerable for e in examples]
    if len(examples) < 10 or all(labels) or not any(labels):
        raise TrainingDataError(
            "answerability: need at least 10 labelled questions, answerable and "
            f"unanswerable both (got {len(examples)}, {sum(labels)} answerable)"
        )
    features = [[e.cosine, e.coverage] for e in examples]
    model = LogisticRegression(C=regularisation, max_iter=1000).fit(features, labels)
    cosine_weight, coverage_weight = (float(w) for w in model.coef_[0])
    if cosine_weight < 0 or coverage_weight < 0:
        raise TrainingDataError(
            "answerability: the fit gave a negative weight "
            f"(cosine {cosine_weight:.3f}, coverage {coverage_weight:.3f}); "
            "the labelled questions do not support the model"
        )
    return AnswerabilityModel(
        cosine_weight, coverage_weight, float(model.intercept_[0]), len(examples)
    )
