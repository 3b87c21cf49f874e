"""``python -m training kb-answerability``: fit when the bot answers from the knowledge base.

Reads the output of ``python -m training kb`` and the development half of a question set
(answerable and unanswerable questions), retrieves each question's passages exactly as the
bot does (:meth:`bot.knowledge.index.KnowledgeIndex.search`, top
:data:`~bot.knowledge.answer_prompt.MAX_PASSAGES`), and fits the answer gate's answerability
model (:mod:`bot.knowledge.answerability`) on the two signals. It writes the model as
``answerability.json`` (by default into the knowledge folder, where the knowledge component
of ``rasa train`` picks it up) and logs a 10-fold cross-validated table: for each threshold,
the share of answerable questions the bot would answer and of unanswerable ones it would
decline, to choose ``answer_gate.min_answerable`` in ``endpoints.yml``.

The test half is refused: it is reported once and never tuned on.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.answerability import AnswerabilityExample
from common.errors import BotError
from training.knowledge.questions import TRAINING_SPLIT

logger = logging.getLogger(__name__)

THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
FOLDS = 10


@dataclass(frozen=True)
class ThresholdRow:
    """Cross-validated rates at one threshold.

    Attributes:
        threshold: The ``min_answerable`` value.
        answered: Share of answerable questions that would get an answer or an extract.
        declined: Share of unanswerable questions that would get the honest reply.
    """

    threshold: float
    answered: float
    declined: float


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``kb-answerability`` arguments to a (sub)parser.

    Args:
        parser: The parser of the ``kb-answerability`` command.
    """
    parser.add_argument(
        "--kb", type=Path, required=True, help="output folder of `python -m training kb`"
    )
    parser.add_argument(
        "--questions",
        type=Path,
        required=True,
        help="question set JSONL with answerable and unanswerable questions",
    )
    parser.add_argument(
        "--split",
        default=TRAINING_SPLIT,
        help="the half to fit on; only 'dev' (the test half is refused)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the model (default: KB/answerability.json)",
    )
    parser.add_argument("--device", default="cpu", help="MiniLM device: cpu, cuda or auto")


def cross_validated_rates(
    examples: Sequence[AnswerabilityExample], thresholds: Sequence[float] = THRESHOLDS
) -> tuple[float, list[ThresholdRow]]:
    """Cross-validate the model: its ROC AUC and the rates at each threshold.

    Args:
        examples: The labelled questions.
        thresholds: The thresholds to report.

    Returns:
        The AUC and one row per threshold.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    labels = [e.answerable for e in examples]
    folds = min(FOLDS, sum(labels), len(labels) - sum(labels))
    features = [[e.cosine, e.coverage] for e in examples]
    probabilities = cross_val_predict(
        LogisticRegression(C=10.0, max_iter=1000),
        features,
        labels,
        cv=StratifiedKFold(folds, shuffle=True, random_state=0),
        method="predict_proba",
    )[:, 1]
    answerable = [p for p, y in zip(probabilities, labels, strict=True) if y]
    unanswerable = [p for p, y in zip(probabilities, labels, strict=True) if not y]
    rows = [
        ThresholdRow(
            t,
            sum(p >= t for p in answerable) / len(answerable),
            sum(p < t for p in unanswerable) / len(unanswerable),
        )
        for t in thresholds
    ]
    return float(roc_auc_score(labels, probabilities)), rows


def run(args: argparse.Namespace) -> int:
    """Fit and write the model.

    Args:
        args: Parsed by a parser set up with :func:`configure`.

    Returns:
        0 on success, 2 on bad input or a refused split.
    """
    from bot.knowledge.answer_prompt import MAX_PASSAGES
    from bot.knowledge.answerability import ANSWERABILITY_FILE, fit_answerability, signals
    from bot.knowledge.answering import retrieve
    from common.embeddings import MiniLMEmbedder
    from training.evaluate.answer_questions import load_knowledge
    from training.knowledge.questions import read_questions, training_questions

    try:
        questions = training_questions(read_questions(args.questions), args.split)
        embedder = MiniLMEmbedder(device=args.device)
        index, _ = load_knowledge(args.kb, embedder)
        examples = []
        try:
            for question in questions:
                found = signals(retrieve(index, question.question, MAX_PASSAGES))
                cosine, coverage = found if found is not None else (0.0, 0.0)
                examples.append(AnswerabilityExample(cosine, coverage, question.answerable))
        finally:
            index.close()
        model = fit_answerability(examples)
        auc, rows = cross_validated_rates(examples)
    except BotError as e:
        logger.error("kb-answerability failed: %s", e.message)
        return 2
    out = args.out or args.kb / ANSWERABILITY_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    logger.info(
        "Fitted on %d questions (%d unanswerable): cosine weight %.3f, coverage weight %.3f, "
        "intercept %.3f; written to %s",
        len(examples),
        sum(not e.answerable for e in examples),
        model.cosine_weight,
        model.coverage_weight,
        model.intercept,
        out,
    )
    logger.info("%d-fold cross-validated ROC AUC %.3f", FOLDS, auc)
    for row in rows:
        logger.info(
            "min_answerable %.2f: answers %.1f%% of answerable, declines %.1f%% of unanswerable",
            row.threshold,
            100 * row.answered,
            100 * row.declined,
        )
    report = {"auc": round(auc, 4), "rows": [row.__dict__ for row in rows]}
    out.with_suffix(".report.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    return 0
