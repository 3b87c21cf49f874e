"""Fast CPU decoding: int8 dynamic quantisation, a KV cache and a hand-rolled loop.

``model.generate`` carries a lot of per-step machinery (logits processors, stopping
criteria, full-vocabulary logits for every prompt position). This loop does only what a
support reply needs, under ``torch.inference_mode``:

* the prompt is run once and only the last position's logits are computed (the 49k-word
  head is the largest matrix in a 135M model);
* each step feeds one token and reuses the KV cache;
* every linear layer (the head included) runs in int8 (``quantize_dynamic``'s scheme);
* for a plain Llama (SmolLM2) the forward is :class:`~.fast_llama.LeanLlama`: fused
  projections, precomputed RoPE tables and a preallocated KV cache instead of HF's
  modules and ``DynamicCache``, with the same int8 weights, so its tokens are those of
  the HF int8 forward; other models run through HF's forward;
* greedy decoding by default, optional temperature/top-p sampling with a seeded
  generator, and a light repetition penalty;
* optional beam search (``num_beams`` > 1), run by transformers' ``generate`` on the same
  int8 weights: it scores higher against reference replies but costs more per token;
* the mean log-probability of the chosen tokens (under the unpenalised distribution) is
  reported for the low-confidence guard.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

from bot.nlg.generation.fast_llama import LeanLlama, supports
from bot.nlg.generation.model import IM_END, IM_START
from common.errors import ConfigError

logger = logging.getLogger(__name__)

TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class DecodeConfig:
    """Decoding settings.

    Attributes:
        max_new_tokens: Most tokens to generate.
        temperature: ``0`` decodes greedily; above ``0`` samples.
        top_p: Nucleus sampling mass (sampling only).
        repetition_penalty: Divides the logits of tokens already generated (1 = off).
        seed: Seed of the sampling generator.
        stop_at_end: Stop at ``<|im_end|>``; benchmarks turn it off to decode a fixed
            number of tokens (greedy and sampling only).
        num_beams: ``1`` decodes one token at a time (greedy or sampling); above ``1``
            keeps that many candidate replies (beam search, greedy only).
    """

    max_new_tokens: int = 96
    temperature: float = 0.0
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    seed: int = 0
    stop_at_end: bool = True
    num_beams: int = 1

    def __post_init__(self) -> None:
        validate_beams(self.num_beams, self.temperature)


def validate_beams(num_beams: int, temperature: float) -> None:
    """Check a beam setting.

    Args:
        num_beams: Candidate replies kept by beam search (1: no beam search).
        temperature: Sampling temperature (beam search needs 0).

    Raises:
        ConfigError: If ``num_beams`` is below 1, or above 1 while sampling.
    """
    if num_beams < 1:
        raise ConfigError(f"num_beams must be >= 1, got {num_beams}")
    if num_beams > 1 and temperature > 0:
        raise ConfigError("beam search (num_beams > 1) needs temperature 0")


@dataclass(frozen=True)
class Decoded:
    """A decoded reply.

    Attributes:
        token_ids: The generated tokens (without the end token).
        text: Their text.
        mean_logprob: Mean log-probability of the generated tokens (``nan`` when none).
        prompt_ms: Time to run the prompt.
        ms_per_token: Time per generated token after the prompt.
        finished: Whether the model ended the reply itself (not cut by the token limit).
    """

    token_ids: tuple[int, ...]
    text: str
    mean_logprob: float
    prompt_ms: float
    ms_per_token: float
    finished: bool


def quantize(model: nn.Module) -> nn.Module:
    """Return an int8 dynamically quantised copy of a model (``nn.Linear`` layers).

    Args:
        model: The fp32 model (left unchanged).

    Returns:
        The quantised copy, in eval mode.
    """
    engines = torch.backends.quantized.supported_engines
    if "x86" in engines:
        torch.backends.quantized.engine = "x86"
    elif "fbgemm" in engines:
        torch.backends.quantized.engine = "fbgemm"
    clone = copy.deepcopy(model).eval()
    with warnings.catch_warnings():
        # torch >= 2.10 points eager-mode quantisation at torchao (not installed here);
        # quantize_dynamic still works and is what this decoder is measured with.
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(clone, {nn.Linear}, dtype=torch.qint8)


def stop_ids(tokenizer: PreTrainedTokenizerBase) -> set[int]:
    """Return the token ids that end a reply (``<|im_end|>``, ``<|im_start|>``, EOS)."""
    ids = {int(tokenizer.convert_tokens_to_ids(t)) for t in (IM_END, IM_START)}
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids


class FastDecoder:
    """Decodes replies from a causal LM with a KV cache, optionally in int8.

    One decode runs at a time per decoder (the lean forward owns its KV cache); calls
    from several threads wait for each other.

    Args:
        model: The fine-tuned model (fp32, LoRA merged; never modified).
        tokenizer: Its tokenizer.
        quantize_int8: Run the linear layers in int8 (CPU only).
        lean: Use :class:`~.fast_llama.LeanLlama` (plain Llama models on the CPU only).
            ``None`` (default): for int8 decoding, where it is ~1.5x faster than HF's
            forward; in fp32 the step is bound by reading the weights and HF's forward is
            as fast. ``False``: always HF's forward (the reference in benchmarks and tests).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        quantize_int8: bool = True,
        lean: bool | None = None,
    ) -> None:
        device = next(model.parameters()).device
        self.quantized = quantize_int8 and device.type == "cpu"
        self.lean: LeanLlama | None = None
        wanted = self.quantized if lean is None else lean
        if wanted and device.type == "cpu" and supports(model):
            self.lean = LeanLlama(model, int8=self.quantized)
            self.model: nn.Module = model.eval()
        else:
            self.model = quantize(model) if self.quantized else model.eval()
        self.device = device
        self.tokenizer = tokenizer
        self._stop = stop_ids(tokenizer)
        self._lock = threading.Lock()
        self._beam_model: nn.Module | None = None

    def decode(
        self,
        prompt_ids: Sequence[int],
        config: DecodeConfig | None = None,
        on_token: TokenCallback | None = None,
    ) -> Decoded:
        """Generate a reply to a prompt.

        Args:
            prompt_ids: The prompt's token ids.
            config: Decoding settings.
            on_token: Called with the text so far after each token (for streaming).

        Returns:
            The reply with its mean log-probability and timings.
        """
        config = config or DecodeConfig()
        if config.num_beams > 1:
            return self._beam_decode(prompt_ids, config, on_token)
        generator = torch.Generator().manual_seed(config.seed)
        generated: list[int] = []
        logprobs: list[float] = []
        finished = False
        with self._lock, torch.inference_mode():
            start = time.perf_counter()
            step = self._stepper(list(prompt_ids), config.max_new_tokens)
            logits = step(None)
            prompt_ms = (time.perf_counter() - start) * 1000
            step_start = time.perf_counter()
            for _ in range(config.max_new_tokens):
                token, logprob = self._choose(logits.float(), generated, config, generator)
                if token in self._stop and config.stop_at_end:
                    finished = True
                    break
                generated.append(token)
                logprobs.append(logprob)
                if on_token is not None:
                    on_token(self.tokenizer.decode(generated, skip_special_tokens=True))
                if len(generated) < config.max_new_tokens:
                    logits = step(token)
            decode_ms = (time.perf_counter() - step_start) * 1000
        steps = len(generated) + (1 if finished else 0)
        return Decoded(
            token_ids=tuple(generated),
            text=self.tokenizer.decode(generated, skip_special_tokens=True).strip(),
            mean_logprob=sum(logprobs) / len(logprobs) if logprobs else math.nan,
            prompt_ms=prompt_ms,
            ms_per_token=decode_ms / max(steps, 1),
            finished=finished,
        )

    def _beam_decode(
        self,
        prompt_ids: Sequence[int],
        config: DecodeConfig,
        on_token: TokenCallback | None,
    ) -> Decoded:
        """Beam search through transformers' ``generate``, on int8 weights on the CPU.

        The reply's mean log-probability is taken from one more forward pass over prompt
        and reply, under the unpenalised distribution, as in greedy decoding. ``on_token``
        is called once, with the whole reply: beams change until the search ends. Beam
        search always stops at the end token (``stop_at_end`` is for one-token decoding),
        and its ``ms_per_token`` includes the prompt (``prompt_ms`` is 0).
        """
        prompt = torch.tensor([list(prompt_ids)], dtype=torch.long, device=self.device)
        stop = sorted(self._stop)
        settings = GenerationConfig(
            max_new_tokens=config.max_new_tokens,
            num_beams=config.num_beams,
            do_sample=False,
            repetition_penalty=config.repetition_penalty,
            eos_token_id=stop,
            pad_token_id=int(self.tokenizer.pad_token_id or stop[0]),
        )
        with self._lock, torch.inference_mode():
            model = self._beam_search_model()
            start = time.perf_counter()
            output = model.generate(  # type: ignore[operator]
                prompt, attention_mask=torch.ones_like(prompt), generation_config=settings
            )
            decode_ms = (time.perf_counter() - start) * 1000
            tokens = [int(t) for t in output[0, prompt.shape[1] :]]
            end = next((i for i, t in enumerate(tokens) if t in self._stop), None)
            generated = tokens if end is None else tokens[:end]
            mean_logprob = self._mean_logprob(model, prompt, generated)
        text = self.tokenizer.decode(generated, skip_special_tokens=True).strip()
        if on_token is not None:
            on_token(text)
        return Decoded(
            token_ids=tuple(generated),
            text=text,
            mean_logprob=mean_logprob,
            prompt_ms=0.0,
            ms_per_token=decode_ms / max(len(tokens), 1),
            finished=end is not None,
        )

    def _beam_search_model(self) -> nn.Module:
        """The HF model beam search runs on: int8 when quantising (made once, on demand).

        Without the lean forward, ``self.model`` is already that model; with it,
        ``self.model`` is the fp32 original and the int8 copy is made here.
        """
        if self._beam_model is None:
            needs_copy = self.lean is not None and self.quantized
            self._beam_model = quantize(self.model) if needs_copy else self.model
        return self._beam_model

    def _mean_logprob(self, model: nn.Module, prompt: torch.Tensor, generated: list[int]) -> float:
        """Mean log-probability of ``generated`` after ``prompt`` (``nan`` when empty)."""
        if not generated:
            return math.nan
        reply = torch.tensor([generated], dtype=torch.long, device=self.device)
        ids = torch.cat([prompt, reply], dim=1)
        logits = model(input_ids=ids).logits[0, prompt.shape[1] - 1 : -1].float()
        picked = torch.log_softmax(logits, dim=-1).gather(1, reply[0].unsqueeze(1))
        return float(picked.mean())

    def _stepper(self, prompt: list[int], budget: int) -> Callable[[int | None], torch.Tensor]:
        """Return a function that feeds the prompt (``None``) or one token, giving logits.

        Args:
            prompt: The prompt's token ids.
            budget: Most tokens that will follow the prompt.

        Returns:
            ``step(token)``: the next-token logits (vocabulary-sized) after feeding
            ``token``, or after the prompt when ``token`` is ``None``.
        """
        lean = self.lean
        if lean is not None:
            position = len(prompt)

            def lean_step(token: int | None) -> torch.Tensor:
                nonlocal position
                if token is None:
                    return lean.prefill(prompt, budget)
                position += 1
                return lean.step(token, position - 1)

            return lean_step
        past: object = None

        def hf_step(token: int | None) -> torch.Tensor:
            nonlocal past
            if token is None:
                ids = torch.tensor([prompt], dtype=torch.long, device=self.device)
                out = self.model(input_ids=ids, use_cache=True, logits_to_keep=1)
            else:
                ids = torch.tensor([[token]], device=self.device)
                out = self.model(input_ids=ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            return out.logits[0, -1]

        return hf_step

    @staticmethod
    def _choose(
        logits: torch.Tensor,
        generated: list[int],
        config: DecodeConfig,
        generator: torch.Generator,
    ) -> tuple[int, float]:
        logprobs = torch.log_softmax(logits, dim=-1)
        scores = logits.clone()
        if config.repetition_penalty != 1.0 and generated:
            seen = torch.tensor(sorted(set(generated)), device=scores.device)
            picked = scores[seen]
            scores[seen] = torch.where(
                picked > 0, picked / config.repetition_penalty, picked * config.repetition_penalty
            )
        if config.temperature <= 0:
            token = int(torch.argmax(scores))
        else:
            probs = torch.softmax(scores / config.temperature, dim=-1)
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < config.top_p
            sorted_probs = sorted_probs * keep
            choice = torch.multinomial(
                sorted_probs.cpu() / sorted_probs.sum(), 1, generator=generator
            )
            token = int(order[int(choice)])
        return token, float(logprobs[token])
