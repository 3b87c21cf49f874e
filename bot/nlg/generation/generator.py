"""The generator facade: grounding, prompt, fast decoding and guardrails in one call.

Example:
    >>> generator = Generator.load(Path("checkpoint"))          # doctest: +SKIP
    >>> result = generator.generate([], "do your tents include a footprint?", channel="web")
    >>> result.text, result.guard_failures                       # doctest: +SKIP

``generate`` is synchronous and CPU-bound: call it from an executor in async code.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from bot.nlg.generation.decoding import (
    DecodeConfig,
    Decoded,
    FastDecoder,
    TokenCallback,
    validate_beams,
)
from bot.nlg.generation.grounding import GroundingHit, GroundingIndex
from bot.nlg.generation.guardrails import Guardrails
from bot.nlg.generation.prompt import DEFAULT_SYSTEM, PromptParts, build_ids
from common.conversation import Role, Turn
from common.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GeneratorOptions:
    """Run-time settings of a generator.

    Attributes:
        context_turns: Earlier turns put into the prompt.
        grounding_k: Past replies put into the prompt.
        grounding_min_score: Cosine floor for a grounding reply.
        max_prompt_tokens: Prompt budget.
        max_new_tokens: Reply budget.
        temperature: ``0``: greedy; above: sampling.
        top_p: Nucleus mass when sampling.
        repetition_penalty: Penalty on tokens already generated.
        quantize: Decode with int8 ``nn.Linear`` layers on the CPU.
        seed: Sampling seed.
        system: The system instruction.
        num_beams: Candidate replies kept by beam search; 1 decodes token by token
            (greedy or sampling). Beam search scores closer to the company's replies but
            takes longer per token (docs/benchmarks.md, "Reply quality").
        answer_prompt_tokens: Prompt budget of the knowledge answer writer (question and
            passages, :mod:`bot.knowledge.answer_prompt`); the same as in training.
    """

    context_turns: int = 4
    grounding_k: int = 2
    grounding_min_score: float = 0.35
    max_prompt_tokens: int = 256
    max_new_tokens: int = 96
    temperature: float = 0.0
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    quantize: bool = True
    seed: int = 0
    system: str = DEFAULT_SYSTEM
    num_beams: int = 1
    answer_prompt_tokens: int = 448

    def __post_init__(self) -> None:
        validate_beams(self.num_beams, self.temperature)
        if self.answer_prompt_tokens < 64:
            raise ConfigError("answer_prompt_tokens must be at least 64")


@dataclass(frozen=True)
class Generation:
    """A generated reply and what is known about it.

    Attributes:
        text: The reply (light Markdown), before channel adaptation.
        mean_logprob: Mean log-probability per generated token.
        tokens: Generated tokens.
        ms_per_token: Decoding time per token.
        guard_failures: Failed guardrails; empty when the reply may be sent.
        grounding: The past replies that were put into the prompt.
        finished: Whether the model ended the reply itself.
    """

    text: str
    mean_logprob: float
    tokens: int
    ms_per_token: float
    guard_failures: tuple[str, ...] = ()
    grounding: tuple[GroundingHit, ...] = field(default=())
    finished: bool = True

    @property
    def ok(self) -> bool:
        """Whether every guard passed."""
        return not self.guard_failures


class TextGenerator(Protocol):
    """What the NLG endpoint needs from a generator (:class:`Generator`, or a fake)."""

    def generate(
        self,
        context: Sequence[Turn],
        message: str,
        channel: str | None = None,
        *,
        on_token: TokenCallback | None = None,
        max_new_tokens: int | None = None,
    ) -> Generation:
        """Generate a reply to the customer's latest message."""
        ...


class Generator:
    """Generates grounded, guarded replies with a fine-tuned causal LM.

    Args:
        model: The fine-tuned model (fp32, LoRA merged).
        tokenizer: Its tokenizer.
        index: Past agent replies for grounding (``None``: no grounding).
        guardrails: The checks a reply must pass.
        options: Run-time settings.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        index: GroundingIndex | None,
        guardrails: Guardrails | None = None,
        options: GeneratorOptions | None = None,
    ) -> None:
        self.options = options or GeneratorOptions()
        self.model = model
        self.tokenizer = tokenizer
        self.index = index
        self.guardrails = guardrails or Guardrails()
        self.decoder = FastDecoder(model, tokenizer, quantize_int8=self.options.quantize)
        # One decode at a time per model: the KV cache and torch's threads are not shared
        # well, and parallel decodes on a few cores only slow each other down.
        self._lock = threading.Lock()

    def _drifted(self, text: str, grounding: Sequence[GroundingHit]) -> bool:
        """Whether a reply strays from a past reply to a near-identical question."""
        config = self.guardrails.config
        if self.index is None or not grounding or grounding[0].score < config.grounded_min_score:
            return False
        return self.index.similarity(text, grounding[0].reply) < config.min_grounded_similarity

    def ground(self, message: str) -> tuple[GroundingHit, ...]:
        """Return the past replies for ``message`` that go into the prompt."""
        if self.index is None or not self.options.grounding_k:
            return ()
        hits = self.index.search(
            [message], self.options.grounding_k, self.options.grounding_min_score
        )
        return tuple(hits[0])

    def prompt_ids(
        self,
        context: Sequence[Turn],
        message: str,
        channel: str | None,
        grounding: Sequence[GroundingHit],
    ) -> list[int]:
        """Return the prompt's token ids for a message."""
        turns = tuple(context[-self.options.context_turns :]) if self.options.context_turns else ()
        parts = PromptParts(
            turns, message, tuple((h.question, h.reply) for h in grounding), channel
        )
        return build_ids(parts, self.tokenizer, self.options.max_prompt_tokens, self.options.system)

    def complete(self, prompt_ids: list[int], max_new_tokens: int | None = None) -> Decoded:
        """Continue a ready prompt greedily (the knowledge answer writer's prompt).

        Decodes are serialised per model, like :meth:`generate`'s. No guardrail runs here:
        the caller checks the text (the answer gate and the guardrails).

        Args:
            prompt_ids: The prompt's token ids, ending where the answer starts.
            max_new_tokens: The answer budget; default: the options' ``max_new_tokens``.

        Returns:
            The decoded continuation.
        """
        config = DecodeConfig(
            max_new_tokens=max_new_tokens or self.options.max_new_tokens,
            temperature=0.0,
            repetition_penalty=self.options.repetition_penalty,
        )
        with self._lock:
            return self.decoder.decode(prompt_ids, config)

    def generate(
        self,
        context: Sequence[Turn],
        message: str,
        channel: str | None = None,
        *,
        on_token: TokenCallback | None = None,
        max_new_tokens: int | None = None,
    ) -> Generation:
        """Generate a reply to the customer's latest message.

        Args:
            context: Earlier turns, oldest first.
            message: The customer's latest message.
            channel: The channel the reply goes to (part of the prompt).
            on_token: Called with the text so far after each token.
            max_new_tokens: Override of the reply budget.

        Returns:
            The reply with its log-probability, timings, grounding and guard failures.
        """
        grounding = self.ground(message)
        ids = self.prompt_ids(context, message, channel, grounding)
        config = DecodeConfig(
            max_new_tokens=max_new_tokens or self.options.max_new_tokens,
            temperature=self.options.temperature,
            top_p=self.options.top_p,
            repetition_penalty=self.options.repetition_penalty,
            seed=self.options.seed,
            num_beams=self.options.num_beams,
        )
        with self._lock:
            decoded = self.decoder.decode(ids, config, on_token)
        customer_texts = [t.text for t in context if t.role is Role.CUSTOMER] + [message]
        failures = self.guardrails.check(decoded.text, decoded.mean_logprob, customer_texts)
        if not failures and self._drifted(decoded.text, grounding):
            failures.append("off_grounding")
        logger.debug(
            "Generated %d tokens at %.1f ms/token (prompt %d tokens, %d grounding).",
            len(decoded.token_ids),
            decoded.ms_per_token,
            len(ids),
            len(grounding),
        )
        return Generation(
            text=decoded.text,
            mean_logprob=decoded.mean_logprob,
            tokens=len(decoded.token_ids),
            ms_per_token=decoded.ms_per_token,
            guard_failures=tuple(failures),
            grounding=grounding,
            finished=decoded.finished,
        )
