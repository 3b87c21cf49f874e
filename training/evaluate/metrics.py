"""Pure metric functions for intent classification and out-of-scope detection."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of exact label matches.

    Args:
        gold: True labels.
        predicted: Predicted labels, same length.

    Returns:
        Accuracy in ``[0, 1]``.
    """
    if not gold:
        return 0.0
    return float(np.mean([g == p for g, p in zip(gold, predicted, strict=True)]))


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro-averaged F1 over the gold labels.

    Args:
        gold: True labels.
        predicted: Predicted labels.

    Returns:
        Macro-F1 in ``[0, 1]``.
    """
    labels = sorted(set(gold))
    return float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))


def retention_threshold(in_scope_confidence: Sequence[float], retention: float = 0.95) -> float:
    """The confidence threshold that keeps ``retention`` of in-scope messages.

    Args:
        in_scope_confidence: Top confidence of each in-scope message.
        retention: Share of in-scope messages that must stay accepted.

    Returns:
        The threshold: messages with confidence ``>=`` it are accepted.
    """
    return float(np.quantile(np.asarray(in_scope_confidence, dtype=float), 1.0 - retention))


def oos_scores(
    in_conf: Sequence[float],
    oos_conf: Sequence[float],
    threshold: float,
) -> dict[str, float]:
    """Out-of-scope precision and recall when confidence below ``threshold`` means OOS.

    Args:
        in_conf: Top confidences of in-scope messages.
        oos_conf: Top confidences of out-of-scope messages.
        threshold: Rejection threshold.

    Returns:
        ``precision``, ``recall`` and ``in_scope_rejected`` (share of in-scope rejected).
    """
    ins = np.asarray(in_conf, dtype=float)
    oos = np.asarray(oos_conf, dtype=float)
    true_pos = int((oos < threshold).sum())
    false_pos = int((ins < threshold).sum())
    predicted = true_pos + false_pos
    return {
        "precision": true_pos / predicted if predicted else 0.0,
        "recall": true_pos / len(oos) if len(oos) else 0.0,
        "in_scope_rejected": false_pos / len(ins) if len(ins) else 0.0,
    }


def accepted_accuracy(
    gold: Sequence[str], predicted: Sequence[str], confidence: Sequence[float], threshold: float
) -> float:
    """In-scope accuracy when rejected messages count as wrong.

    Args:
        gold: True labels of in-scope messages.
        predicted: Top predicted labels.
        confidence: Top confidences.
        threshold: Rejection threshold.

    Returns:
        Share of in-scope messages accepted and correctly labelled.
    """
    if not gold:
        return 0.0
    hits = [g == p and c >= threshold for g, p, c in zip(gold, predicted, confidence, strict=True)]
    return float(np.mean(hits))


def oos_auroc(in_conf: Sequence[float], oos_conf: Sequence[float]) -> float:
    """Area under the ROC curve for telling OOS (low confidence) from in-scope.

    Args:
        in_conf: Top confidences of in-scope messages.
        oos_conf: Top confidences of out-of-scope messages.

    Returns:
        AUROC in ``[0, 1]``; 0.5 is chance.
    """
    y = np.concatenate([np.zeros(len(in_conf)), np.ones(len(oos_conf))])
    score = -np.concatenate([np.asarray(in_conf, float), np.asarray(oos_conf, float)])
    return float(roc_auc_score(y, score))


def expected_calibration_error(
    correct: Sequence[bool], confidence: Sequence[float], bins: int = 15
) -> float:
    """Expected calibration error with equal-width confidence bins.

    Args:
        correct: Whether each top prediction was right.
        confidence: Its confidence.
        bins: Number of bins over ``[0, 1]``.

    Returns:
        ECE in ``[0, 1]``; 0 is perfectly calibrated.
    """
    hit = np.asarray(correct, dtype=float)
    conf = np.asarray(confidence, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > low) & (conf <= high)
        if inside.any():
            total += inside.mean() * abs(hit[inside].mean() - conf[inside].mean())
    return float(total)


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    """A latency percentile in milliseconds.

    Args:
        seconds: Latencies in seconds.
        q: Percentile in ``[0, 100]``.

    Returns:
        The percentile, in ms.
    """
    return float(np.percentile(np.asarray(seconds, dtype=float), q) * 1000.0)
