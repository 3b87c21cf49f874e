"""Where models run and how runs are made repeatable: device choice and seeding."""

from __future__ import annotations

import random

import numpy as np
import torch

from common.errors import TrainingDataError


def resolve_device(name: str) -> torch.device:
    """Turn a device option into a torch device.

    Args:
        name: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns:
        The device; ``"auto"`` picks CUDA when available.

    Raises:
        TrainingDataError: If CUDA is asked for but not available.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingDataError(f"device '{name}' was requested but CUDA is not available")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch.

    Args:
        seed: The seed.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
