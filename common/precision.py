"""Mixed precision for the fine-tuning loops: bfloat16 autocast where the hardware has it.

Both fine-tuning loops (the intent encoder and the response generator) keep their weights
and optimiser state in float32 and run the forward pass under ``torch.autocast`` with
bfloat16 when this is switched on. bfloat16 has float32's exponent range, so no loss
scaling is needed. On a CPU with native bfloat16 instructions (AVX512-BF16 or AMX) the
training steps run 1.75-2 times faster (docs/benchmarks.md, "Training precision").
Without them, bfloat16 is emulated and slower than float32, so ``"auto"`` keeps float32
there. Inference is not affected: saved weights are float32.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from common.errors import ConfigError

if TYPE_CHECKING:  # torch is imported where it is used: validating an option needs none
    import torch

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")


def validate_precision(name: str) -> None:
    """Reject an unknown precision option.

    Args:
        name: The option's value.

    Raises:
        ConfigError: If it is not one of :data:`PRECISIONS`.
    """
    if name not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {name!r}")


def _cpu_probe(name: str) -> bool:
    # torch exposes its CPU feature probes only as private functions of torch.cpu; a torch
    # without them counts as "no native bfloat16", which keeps float32.
    import torch

    probe: Callable[[], bool] | None = getattr(torch.cpu, name, None)
    if probe is None:
        return False
    try:
        return bool(probe())
    except RuntimeError:
        return False


def has_native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bfloat16 natively (not emulated).

    Args:
        device: A CPU or CUDA device.

    Returns:
        ``True`` for a CUDA device that supports bfloat16, or a CPU with AVX512-BF16 or
        AMX tiles; ``False`` otherwise.
    """
    if device.type == "cuda":
        import torch

        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return _cpu_probe("_is_avx512_bf16_supported") or _cpu_probe("_is_amx_tile_supported")
    return False


def use_bf16(precision: str, device: torch.device) -> bool:
    """Decide whether a training run uses bfloat16 autocast.

    Args:
        precision: ``"auto"`` (bfloat16 where the device has it natively), ``"fp32"`` or
            ``"bf16"`` (always, emulated where there is no native support).
        device: The training device.

    Returns:
        ``True`` for bfloat16 autocast.

    Raises:
        ConfigError: On an unknown precision.
    """
    validate_precision(precision)
    if precision == "fp32":
        return False
    native = has_native_bf16(device)
    if precision == "bf16":
        if not native:
            logger.warning(
                "precision bf16 on %s without native bfloat16: it is emulated and slower "
                "than fp32.",
                device,
            )
        return True
    return native


def training_autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager[None]:
    """Return the autocast context for a training forward pass.

    Args:
        device: The training device.
        bf16: From :func:`use_bf16`.

    Returns:
        ``torch.autocast`` in bfloat16, or a no-op context for float32.
    """
    if not bf16:
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
