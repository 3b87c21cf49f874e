import random

import numpy as np
import pytest
import torch

from common.device import resolve_device, seed_everything
from common.errors import TrainingDataError


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(TrainingDataError):
            resolve_device("cuda")


def test_seed_everything_repeats_python_numpy_and_torch_draws():
    seed_everything(7)
    first = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    seed_everything(7)
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == first
