"""Fast decoding: matches plain greedy and beam generate, int8 stays close, stops, streams."""

from __future__ import annotations

import pytest
import torch
from transformers import PreTrainedTokenizerBase

from bot.nlg.generation.decoding import DecodeConfig, FastDecoder, quantize
from bot.nlg.generation.generator import GeneratorOptions
from bot.nlg.generation.model import tiny_llama
from common.errors import ConfigError


def _prompt(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    return list(
        tokenizer(
            "<|im_start|>user\nis the tent waterproof?<|im_end|>\n", add_special_tokens=False
        )["input_ids"]
    )


def test_fp32_loop_matches_hf_greedy_generate(tokenizer: PreTrainedTokenizerBase) -> None:
    model = tiny_llama(len(tokenizer), seed=3)
    prompt = _prompt(tokenizer)
    decoder = FastDecoder(model, tokenizer, quantize_int8=False)
    ours = decoder.decode(prompt, DecodeConfig(max_new_tokens=10, repetition_penalty=1.0))
    with torch.inference_mode():
        reference = model.generate(
            torch.tensor([prompt]),
            max_new_tokens=10,
            do_sample=False,
            eos_token_id=sorted(decoder._stop),
            pad_token_id=2,
        )[0, len(prompt) :].tolist()
    expected = [t for t in reference if t not in decoder._stop][: len(ours.token_ids)]
    assert list(ours.token_ids) == expected
    assert ours.mean_logprob < 0


def test_int8_copy_leaves_the_model_alone_and_agrees(tokenizer: PreTrainedTokenizerBase) -> None:
    model = tiny_llama(len(tokenizer), seed=3)
    quantised = quantize(model)
    assert isinstance(model.model.layers[0].self_attn.q_proj, torch.nn.Linear)
    assert not isinstance(quantised.model.layers[0].self_attn.q_proj, torch.nn.Linear)
    ids = torch.tensor([_prompt(tokenizer)])
    with torch.inference_mode():
        a = model(ids).logits[0, -1]
        b = quantised(ids).logits[0, -1]
    assert torch.nn.functional.cosine_similarity(a, b, dim=0) > 0.95


def test_max_tokens_streaming_and_sampling_seed(tokenizer: PreTrainedTokenizerBase) -> None:
    decoder = FastDecoder(tiny_llama(len(tokenizer), seed=5), tokenizer)
    seen: list[str] = []
    greedy = decoder.decode(_prompt(tokenizer), DecodeConfig(max_new_tokens=5), seen.append)
    assert len(greedy.token_ids) == 5 and not greedy.finished
    assert len(seen) == 5 and seen[-1].strip() == greedy.text
    config = DecodeConfig(max_new_tokens=6, temperature=1.0, seed=11)
    first = decoder.decode(_prompt(tokenizer), config)
    again = decoder.decode(_prompt(tokenizer), config)
    assert first.token_ids == again.token_ids
    assert first.ms_per_token > 0


def test_beam_search_matches_hf_beam_generate(tokenizer: PreTrainedTokenizerBase) -> None:
    model = tiny_llama(len(tokenizer), seed=3)
    prompt = _prompt(tokenizer)
    decoder = FastDecoder(model, tokenizer, quantize_int8=False)
    streamed: list[str] = []
    ours = decoder.decode(
        prompt, DecodeConfig(max_new_tokens=8, repetition_penalty=1.0, num_beams=3), streamed.append
    )
    with torch.inference_mode():
        reference = model.generate(
            torch.tensor([prompt]),
            max_new_tokens=8,
            num_beams=3,
            do_sample=False,
            eos_token_id=sorted(decoder._stop),
            pad_token_id=2,
        )[0, len(prompt) :].tolist()
        # The mean log-probability is the unpenalised one of the tokens chosen.
        logits = model(torch.tensor([prompt + list(ours.token_ids)])).logits[0]
    expected = [t for t in reference if t not in decoder._stop]
    assert list(ours.token_ids) == expected
    steps = torch.log_softmax(logits[len(prompt) - 1 : -1], dim=-1)
    chosen = steps[torch.arange(len(expected)), torch.tensor(expected)]
    assert abs(ours.mean_logprob - float(chosen.mean())) < 1e-4
    assert streamed == [ours.text]
    # For this model and prompt the search finds another reply than greedy decoding.
    greedy = decoder.decode(prompt, DecodeConfig(max_new_tokens=8, repetition_penalty=1.0))
    assert greedy.token_ids != ours.token_ids


def test_int8_beam_search_runs_on_an_int8_copy(tokenizer: PreTrainedTokenizerBase) -> None:
    model = tiny_llama(len(tokenizer), seed=4)
    decoder = FastDecoder(model, tokenizer)
    assert decoder.lean is not None
    result = decoder.decode(_prompt(tokenizer), DecodeConfig(max_new_tokens=6, num_beams=2))
    beam_model = decoder._beam_search_model()
    assert not isinstance(beam_model.model.layers[0].self_attn.q_proj, torch.nn.Linear)
    assert isinstance(model.model.layers[0].self_attn.q_proj, torch.nn.Linear)
    assert 0 < len(result.token_ids) <= 6 and result.ms_per_token > 0
    # The greedy path still runs on the lean int8 forward afterwards.
    assert len(decoder.decode(_prompt(tokenizer), DecodeConfig(max_new_tokens=3)).token_ids) == 3


@pytest.mark.parametrize(("beams", "temperature"), [(0, 0.0), (-2, 0.0), (3, 0.7)])
def test_bad_beam_settings_are_rejected(beams: int, temperature: float) -> None:
    with pytest.raises(ConfigError, match="beam"):
        DecodeConfig(num_beams=beams, temperature=temperature)
    with pytest.raises(ConfigError, match="beam"):
        GeneratorOptions(num_beams=beams, temperature=temperature)
