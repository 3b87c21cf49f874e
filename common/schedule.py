"""The learning-rate schedule of the fine-tuning loops: linear warm-up, then linear decay.

The response generator (:mod:`bot.nlg.generation.fine_tune`) and the PII tagger
(:mod:`training.pii_ner.train`) both raise the rate linearly over the first ``warmup``
steps and lower it linearly to zero at step ``total``.
"""

from __future__ import annotations

import torch


def warmup_linear_schedule(
    optimiser: torch.optim.Optimizer, warmup: int, total: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup`` steps, then linear decay to zero at ``total``.

    Args:
        optimiser: The optimiser whose rate is scheduled.
        warmup: Warm-up steps (at least 1).
        total: The planned number of steps.

    Returns:
        The scheduler; call ``step()`` once per optimiser step.
    """
    warmup = max(1, warmup)
    decay = max(total - warmup, 1)
    return torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / decay))
    )
