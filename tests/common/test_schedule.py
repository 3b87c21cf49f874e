"""The fine-tuning loops' learning-rate schedule."""

from __future__ import annotations

import pytest
import torch

from common.schedule import warmup_linear_schedule


def _rates(warmup: int, total: int) -> list[float]:
    optimiser = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = warmup_linear_schedule(optimiser, warmup, total)
    rates = []
    for _ in range(total):
        rates.append(optimiser.param_groups[0]["lr"])
        optimiser.step()
        scheduler.step()
    return rates


def test_rises_over_the_warm_up_then_falls_to_zero() -> None:
    rates = _rates(warmup=4, total=12)
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert rates[4:] == sorted(rates[4:], reverse=True)
    assert rates[-1] == pytest.approx(1 / 8)
    assert all(0.0 < r <= 1.0 for r in rates)


def test_a_run_no_longer_than_its_warm_up_does_not_divide_by_zero() -> None:
    assert _rates(warmup=1, total=1) == [1.0]
    assert _rates(warmup=0, total=1) == [1.0]
