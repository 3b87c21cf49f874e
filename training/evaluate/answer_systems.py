"""The systems compared by ``training.evaluate answers``, one question at a time.

* ``retrieval`` (a): what the answer gate sends when it stops an answer, with no answer
  written: an extract of the best retrieved passage (highest dense cosine) with its title
  and source, or "I don't know" when that passage's cosine is below the gate's
  ``extract_min_cosine`` (:meth:`bot.knowledge.gate.AnswerGate.fallback`).
* ``base`` (b): a language model writes an answer from the question and the top passages
  (:class:`BaseModelWriter`: SmolLM2-135M-Instruct, not fine-tuned, greedy); the
  generator's guardrails and the answer gate check it, and when either fails the gate's
  fallback (extract or "I don't know") is sent instead.
* ``generator`` (d): today's fine-tuned reply generator, without knowledge; a reply that
  fails its guardrails is replaced by the hand-off line, as the NLG endpoint does.

Each run returns an :class:`Outcome`: the raw answer, what was sent, and what kind of
message that was.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from bot.knowledge.answer_prompt import AnswerPassage
from bot.knowledge.answering import (
    AnswerKind,
    AnswerWriter,
    KnowledgeAnswer,
    WrittenAnswer,
    answer_question,
)
from bot.knowledge.gate import AnswerGate, GatePassage
from bot.nlg.generation.decoding import DecodeConfig, FastDecoder
from bot.nlg.generation.generator import GeneratorOptions, TextGenerator
from bot.nlg.generation.guardrails import Guardrails
from bot.nlg.generation.model import IM_END, IM_START

DONT_KNOW_REPLY = (
    "I'm sorry, I don't know the answer to that. I can pass you to a person from our team."
)
"""What the knowledge systems send when they decline (the gate's ``dont_know``)."""

HANDOFF_REPLY = "I'm sorry, I can't answer that properly here. Let me pass you to a colleague."
"""What the generator's NLG endpoint sends instead of a reply that fails a guardrail."""

ANSWER_SYSTEM_PROMPT = (
    "You are a customer support assistant. Answer the customer's question in one or two "
    "short sentences, using only the help-centre passages below. If the passages do not "
    "answer the question, say that you don't know."
)
"""The base model's instruction (the passages follow it in the system message)."""

PASSAGE_CHARS = 800
"""Longest passage text put into the prompt (the knowledge ingest's chunk size)."""


class SentKind(str, enum.Enum):
    """What kind of message went out."""

    ANSWER = "answer"
    """The system's own answer, which passed every check."""
    EXTRACT = "extract"
    """An extract of the best passage, cited (the gate's fallback)."""
    DONT_KNOW = "dont_know"
    """An honest "I don't know" and the offer of a person (the gate's fallback)."""
    HANDOFF = "handoff"
    """The generator's hand-off line (a reply that failed a guardrail)."""

    @property
    def declines(self) -> bool:
        """Whether the message declines to answer."""
        return self in (SentKind.DONT_KNOW, SentKind.HANDOFF)


@dataclass(frozen=True)
class Outcome:
    """One system's reply to one question.

    Attributes:
        raw: What the system produced before any check ("" for ``retrieval``).
        sent: The text the customer gets (an extract without its citation line).
        kind: What kind of message that was.
        failed: The checks the raw answer failed (gate checks by name, guardrails as
            ``guard:<code>``).
        seconds: Time to produce the sent text, retrieval not included.
        title: The cited passage's title (extracts only).
        source: The cited passage's URL or path (extracts only).
    """

    raw: str
    sent: str
    kind: SentKind
    failed: tuple[str, ...] = ()
    seconds: float = 0.0
    title: str = ""
    source: str = ""


def render_prompt(question: str, passages: Sequence[AnswerPassage]) -> str:
    """The base model's ChatML prompt: instruction and passages, then the question.

    Args:
        question: The customer's question.
        passages: The passages, best first (each cut to :data:`PASSAGE_CHARS`).

    Returns:
        The prompt, ending where the assistant's answer starts.
    """
    blocks = [ANSWER_SYSTEM_PROMPT, "", "Passages:"]
    for number, chunk in enumerate(passages, start=1):
        heading = " > ".join(p for p in (chunk.title, chunk.section) if p)
        blocks.append(f"[{number}] {heading}\n{chunk.text[:PASSAGE_CHARS].strip()}")
    system = "\n".join(blocks)
    return (
        f"{IM_START}system\n{system}{IM_END}\n"
        f"{IM_START}user\n{question}{IM_END}\n"
        f"{IM_START}assistant\n"
    )


class BaseModelWriter:
    """A causal LM (SmolLM2 in the evaluation) answering from passages, greedily.

    It decodes with the project's :class:`~bot.nlg.generation.decoding.FastDecoder` and the
    generator's default run-time settings (int8 on the CPU, repetition penalty 1.1),
    temperature 0.

    Args:
        model: The model (not modified).
        tokenizer: Its tokenizer.
        max_new_tokens: Answer budget.
    """

    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_new_tokens: int = 80
    ) -> None:
        options = GeneratorOptions()
        self.tokenizer = tokenizer
        self.decoder = FastDecoder(model, tokenizer, quantize_int8=options.quantize)
        self.config = DecodeConfig(
            max_new_tokens=max_new_tokens,
            temperature=0.0,
            repetition_penalty=options.repetition_penalty,
        )

    def write(
        self, question: str, passages: Sequence[AnswerPassage], channel: str | None = None
    ) -> WrittenAnswer:
        """Write an answer from the passages (see :class:`AnswerWriter`); no channel."""
        prompt = render_prompt(question, passages)
        ids = list(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        decoded = self.decoder.decode(ids, self.config)
        logprob = None if math.isnan(decoded.mean_logprob) else decoded.mean_logprob
        return WrittenAnswer(decoded.text, logprob)


_SENT = {
    AnswerKind.ANSWER: SentKind.ANSWER,
    AnswerKind.EXTRACT: SentKind.EXTRACT,
    AnswerKind.DONT_KNOW: SentKind.DONT_KNOW,
}


def _outcome(answer: KnowledgeAnswer) -> Outcome:
    kind = _SENT[answer.kind]
    sent = DONT_KNOW_REPLY if kind is SentKind.DONT_KNOW else answer.text
    cited = answer.citations[0] if answer.citations and kind is SentKind.EXTRACT else None
    return Outcome(
        answer.written,
        sent,
        kind,
        tuple(f for f in answer.failed if f != "no_writer"),
        answer.seconds,
        title=cited.title if cited else "",
        source=cited.source if cited else "",
    )


def run_retrieval(question: str, passages: Sequence[GatePassage], gate: AnswerGate) -> Outcome:
    """System (a): the best passage's extract, or "I don't know".

    Args:
        question: The customer's question.
        passages: The retrieved passages with their dense cosines.
        gate: The answer gate (its fallback and thresholds).

    Returns:
        The outcome.
    """
    return _outcome(answer_question(question, passages, gate, None))


def run_writer(
    question: str,
    passages: Sequence[GatePassage],
    writer: AnswerWriter,
    gate: AnswerGate,
    guardrails: Guardrails,
    product_names: Sequence[str] = (),
) -> Outcome:
    """Systems (b) and (c): a written answer, checked by the guardrails and the gate.

    The runtime's own answering step (:func:`bot.knowledge.answering.answer_question`),
    so that what is measured is what the bot serves.

    Args:
        question: The customer's question.
        passages: The retrieved passages with their dense cosines, best first.
        writer: Writes the answer.
        gate: The answer gate.
        guardrails: The generator's guardrails (PII, placeholders, length, promises...);
            PII-like values found in the question or the passages may be repeated.
        product_names: Known product names, for the gate's support check.

    Returns:
        The outcome: the answer if it passed everything, else the gate's fallback.
    """
    return _outcome(
        answer_question(question, passages, gate, writer, guardrails, product_names=product_names)
    )


def run_generator(question: str, generator: TextGenerator) -> Outcome:
    """System (d): today's generator, without knowledge.

    Args:
        question: The customer's question.
        generator: The fine-tuned reply generator.

    Returns:
        The outcome: its reply, or the hand-off line when a guardrail failed.
    """
    started = time.perf_counter()
    generation = generator.generate([], question)
    seconds = time.perf_counter() - started
    failed = tuple(f"guard:{code}" for code in generation.guard_failures)
    if failed:
        return Outcome(generation.text, HANDOFF_REPLY, SentKind.HANDOFF, failed, seconds)
    return Outcome(generation.text, generation.text, SentKind.ANSWER, (), seconds)
