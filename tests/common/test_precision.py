"""Tests for common.precision: choosing and applying bfloat16 autocast."""

from __future__ import annotations

import logging

import pytest
import torch

from common import precision
from common.errors import ConfigError
from common.precision import has_native_bf16, training_autocast, use_bf16, validate_precision

CPU = torch.device("cpu")


def test_validate_precision_accepts_the_known_names_and_rejects_others() -> None:
    for name in ("auto", "fp32", "bf16"):
        validate_precision(name)
    with pytest.raises(ConfigError, match="fp16"):
        validate_precision("fp16")
    with pytest.raises(ConfigError):
        use_bf16("half", CPU)


def test_fp32_never_uses_bf16_even_on_native_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "has_native_bf16", lambda device: True)
    assert use_bf16("fp32", CPU) is False


@pytest.mark.parametrize("native", [True, False])
def test_auto_uses_bf16_exactly_where_it_is_native(
    monkeypatch: pytest.MonkeyPatch, native: bool
) -> None:
    monkeypatch.setattr(precision, "has_native_bf16", lambda device: native)
    assert use_bf16("auto", CPU) is native


def test_forced_bf16_without_native_support_warns_but_obeys(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(precision, "has_native_bf16", lambda device: False)
    with caplog.at_level(logging.WARNING, logger="common.precision"):
        assert use_bf16("bf16", CPU) is True
    assert "emulated" in caplog.text


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "expected"),
    [(True, False, True), (False, True, True), (False, False, False)],
)
def test_cpu_support_comes_from_the_avx512_bf16_or_amx_probe(
    monkeypatch: pytest.MonkeyPatch, avx512_bf16: bool, amx: bool, expected: bool
) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    assert has_native_bf16(CPU) is expected


def test_a_torch_without_the_probes_or_with_a_failing_probe_keeps_fp32(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> bool:
        raise RuntimeError("no cpuinfo")

    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", broken, raising=False)
    assert has_native_bf16(CPU) is False
    assert use_bf16("auto", CPU) is False


def test_other_device_types_are_not_native() -> None:
    assert has_native_bf16(torch.device("meta")) is False


def test_training_autocast_runs_matrix_products_in_bf16_and_keeps_fp32_weights() -> None:
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(2, 8)
    with training_autocast(CPU, True):
        out = layer(x)
    assert out.dtype == torch.bfloat16
    assert layer.weight.dtype == torch.float32
    with training_autocast(CPU, False):
        assert layer(x).dtype == torch.float32
