"""Label-noise report: training examples whose label the model strongly disputes.

With few examples per intent, one mislabelled example is a large share of its intent. The
cross-validated calibration gives every example a calibrated probability from a model that
never saw it; an example whose own label gets less than ``threshold`` of it while another
intent wins is listed for a maintainer to check. The list (with the example's text) goes
into the training report only; the log gets the count.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

logger = logging.getLogger(__name__)


def disputed_labels(
    probabilities: torch.Tensor,
    targets: Sequence[int],
    texts: Sequence[str],
    labels: Sequence[str],
    threshold: float,
    rows: Sequence[int] | None = None,
) -> dict[str, Any]:
    """List the examples whose label the unseen model strongly disputes.

    Args:
        probabilities: ``(m, num_labels)`` calibrated probabilities of the checked
            examples, each from a model that never saw it.
        targets: The labelled intent index of each checked example.
        texts: The training text of each checked example.
        labels: Intent names in logit order.
        threshold: Largest probability of its own label that still counts as disputed.
        rows: Position of each checked example in the training data (defaults to 0..m-1).

    Returns:
        ``checked``, ``threshold``, ``disputed`` (the count) and ``examples``: one entry per
        disputed example (``index``, ``text``, ``label``, ``label_probability``,
        ``suggested``, ``suggested_probability``), least supported label first.
    """
    positions = list(rows) if rows is not None else list(range(len(targets)))
    found: list[dict[str, Any]] = []
    if len(targets):
        target = torch.tensor(list(targets), dtype=torch.long)
        own = probabilities.gather(1, target.unsqueeze(1)).squeeze(1)
        best_p, best = probabilities.max(dim=1)
        for j in range(len(positions)):
            if int(best[j]) == int(target[j]) or float(own[j]) >= threshold:
                continue
            found.append(
                {
                    "index": positions[j],
                    "text": texts[j],
                    "label": labels[int(target[j])],
                    "label_probability": round(float(own[j]), 4),
                    "suggested": labels[int(best[j])],
                    "suggested_probability": round(float(best_p[j]), 4),
                }
            )
    found.sort(key=lambda e: e["label_probability"])
    logger.info(
        "Label check: %d of %d training examples have a label the model disputes "
        "(own-label probability below %.2f from a model that never saw them); "
        "see label_noise in the training report",
        len(found),
        len(positions),
        threshold,
    )
    return {
        "checked": len(positions),
        "threshold": threshold,
        "disputed": len(found),
        "examples": found,
    }
