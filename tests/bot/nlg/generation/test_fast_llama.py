"""The lean Llama forward: same logits as HF's forward, same tokens as the HF int8 path."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerBase

from bot.nlg.generation import fast_llama
from bot.nlg.generation.checkpoint import TrainedGenerator
from bot.nlg.generation.decoding import DecodeConfig, FastDecoder, quantize
from bot.nlg.generation.fast_llama import LeanLlama, supports
from bot.nlg.generation.model import load_smollm2, tiny_llama

PROMPT = "<|im_start|>user\ndoes the tent leak in rain?<|im_end|>\n<|im_start|>assistant\n"


def _prompt(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    return list(tokenizer(PROMPT, add_special_tokens=False)["input_ids"])


def _sharpened(tokenizer: PreTrainedTokenizerBase, seed: int = 7) -> LlamaForCausalLM:
    """A tiny random Llama with weights large enough for decisive, varied logits."""
    model = tiny_llama(len(tokenizer), seed=seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" not in name:
                param.mul_(6.0)
    return model


def _hf_logits(model: torch.nn.Module, prompt: list[int], tokens: list[int]) -> list[torch.Tensor]:
    """HF's logits after the prompt and after each of ``tokens`` (KV cache on).

    Like the decoder, only the last prompt position goes through the head: in int8 the
    head's input is quantised per tensor, so its rows would otherwise share a scale.
    """
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([prompt]), use_cache=True, logits_to_keep=1)
        logits = [out.logits[0, -1]]
        for token in tokens:
            out = model(
                input_ids=torch.tensor([[token]]),
                past_key_values=out.past_key_values,
                use_cache=True,
            )
            logits.append(out.logits[0, -1])
    return logits


def _lean_logits(lean: LeanLlama, prompt: list[int], tokens: list[int]) -> list[torch.Tensor]:
    with torch.inference_mode():
        logits = [lean.prefill(prompt)]
        for i, token in enumerate(tokens):
            logits.append(lean.step(token, len(prompt) + i))
    return logits


def test_fp32_lean_logits_match_hf_forward(tokenizer: PreTrainedTokenizerBase) -> None:
    model = _sharpened(tokenizer)
    prompt = _prompt(tokenizer)
    tokens = [
        int(t)
        for t in torch.randint(0, len(tokenizer), (12,), generator=torch.Generator().manual_seed(1))
    ]
    reference = _hf_logits(model, prompt, tokens)
    ours = _lean_logits(LeanLlama(model, int8=False), prompt, tokens)
    assert reference[0].std() > 0.5  # decisive logits, so the comparison means something
    for expected, got in zip(reference, ours, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_int8_lean_logits_match_hf_int8_forward(tokenizer: PreTrainedTokenizerBase) -> None:
    model = _sharpened(tokenizer)
    prompt = _prompt(tokenizer)
    tokens = [
        int(t)
        for t in torch.randint(0, len(tokenizer), (12,), generator=torch.Generator().manual_seed(2))
    ]
    reference = _hf_logits(quantize(model), prompt, tokens)
    ours = _lean_logits(LeanLlama(model, int8=True), prompt, tokens)
    fp32 = _hf_logits(model, prompt, tokens)
    for expected, got, exact in zip(reference, ours, fp32, strict=True):
        # Same int8 weights and the same kernels: the results agree to float rounding,
        # far closer than int8 is to fp32.
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
        assert (expected - exact).abs().max() > 1e-3


def test_greedy_tokens_match_the_hf_int8_path(
    tokenizer: PreTrainedTokenizerBase, tiny_trained: TrainedGenerator
) -> None:
    prompt = _prompt(tokenizer)
    config = DecodeConfig(max_new_tokens=16, stop_at_end=False)
    reference = FastDecoder(tiny_trained.generator.model, tokenizer, lean=False)
    lean = FastDecoder(tiny_trained.generator.model, tokenizer)
    assert lean.lean is not None and reference.lean is None
    expected = reference.decode(prompt, config)
    got = lean.decode(prompt, config)
    assert len(got.token_ids) == 16
    assert got.token_ids == expected.token_ids
    assert got.mean_logprob == pytest.approx(expected.mean_logprob, abs=1e-4)


def test_cache_grows_and_keeps_what_it_holds(tokenizer: PreTrainedTokenizerBase) -> None:
    model = _sharpened(tokenizer, seed=9)
    prompt = list(range(100, 100 + fast_llama._CACHE_CHUNK - 4))
    tokens = list(range(500, 510))  # crosses the first chunk's end: the cache grows
    lean = LeanLlama(model, int8=False)
    ours = _lean_logits(lean, prompt, tokens)
    assert lean._cache.shape[3] > fast_llama._CACHE_CHUNK
    reference = _hf_logits(model, prompt, tokens)
    torch.testing.assert_close(ours[-1], reference[-1], rtol=1e-4, atol=1e-4)


def test_sampling_and_streaming_on_the_lean_path(tokenizer: PreTrainedTokenizerBase) -> None:
    model = _sharpened(tokenizer, seed=4)
    lean = FastDecoder(model, tokenizer)
    reference = FastDecoder(model, tokenizer, lean=False)
    config = DecodeConfig(max_new_tokens=8, temperature=0.8, seed=3, stop_at_end=False)
    seen: list[str] = []
    got = lean.decode(_prompt(tokenizer), config, seen.append)
    assert got.token_ids == reference.decode(_prompt(tokenizer), config).token_ids
    assert len(seen) == 8 and seen[-1].strip() == got.text


def test_unsupported_models_keep_the_hf_forward(tokenizer: PreTrainedTokenizerBase) -> None:
    model = tiny_llama(len(tokenizer), seed=1)
    assert supports(model)
    model.config.rope_scaling = {"rope_type": "linear", "factor": 2.0}
    assert not supports(model)
    assert FastDecoder(model, tokenizer).lean is None
    assert not supports(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError):
        LeanLlama(model, int8=False)


@pytest.mark.slow
def test_smollm2_int8_lean_decodes_the_same_16_tokens(tokenizer: PreTrainedTokenizerBase) -> None:
    model = load_smollm2()
    prompt = _prompt(tokenizer)
    config = DecodeConfig(max_new_tokens=16, stop_at_end=False)
    expected = FastDecoder(model, tokenizer, lean=False).decode(prompt, config)
    got = FastDecoder(model, tokenizer).decode(prompt, config)
    assert got.token_ids == expected.token_ids
    assert got.mean_logprob == pytest.approx(expected.mean_logprob, abs=1e-4)
