"""Answer an open question from the knowledge base: retrieve, write, gate, cite.

One function, :func:`answer_question`, is the whole answering step, used by the NLG
endpoint at run time (:mod:`bot.nlg.knowledge_reply`) and by the evaluation
(``python -m training.evaluate answers``), so that what is measured is what is served:

1. the retrieved passages come in with their dense cosines (:class:`GatePassage`);
2. the answer writer (the generator fine-tuned on knowledge answer examples,
   :class:`GeneratorAnswerWriter`) writes a short answer from the best
   :data:`~bot.knowledge.answer_prompt.MAX_PASSAGES` of them;
3. the generator's guardrails (PII, placeholders, length, forbidden promises) and the
   :class:`~bot.knowledge.gate.AnswerGate` (sources, relevance, support, echo, confidence)
   check it;
4. what goes out is the answer, or the gate's fallback: an extract of the best passage
   when it is a confident match, otherwise the honest "I don't know" of the channel's tone,
   which offers a person (:data:`~bot.knowledge.gate.KNOWLEDGE_GAP_TRIGGER`).

Without a writer (no generator was trained) the gate's fallback is sent directly, so a bot
with a knowledge base but no generator still answers with cited extracts.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.knowledge import outcome
from bot.knowledge.answer_prompt import (
    MAX_PASSAGES,
    AnswerPassage,
    answer_prompt_ids,
    decline_text,
)
from bot.knowledge.answerability import DEFAULT_ANSWERABILITY, RERANK_DEPTH, rerank
from bot.knowledge.gate import AnswerGate, FallbackKind, GateDecision, GatePassage
from bot.knowledge.index import Hit, KnowledgeIndex
from bot.nlg.generation.decoding import Decoded
from bot.nlg.generation.generator import GeneratorOptions
from bot.nlg.generation.guardrails import Guardrails

MAX_ANSWER_TOKENS = 80
"""The answer budget: one to three short sentences."""


class AnswerKind(str, enum.Enum):
    """What was sent."""

    ANSWER = outcome.ANSWER
    """The written answer passed every check."""
    EXTRACT = outcome.EXTRACT
    """The gate stopped it (or no writer): an extract of the best passage, cited."""
    DONT_KNOW = outcome.DONT_KNOW
    """No confident passage: the honest "I don't know" and the offer of a person."""


@dataclass(frozen=True)
class WrittenAnswer:
    """An answer as the writer wrote it.

    Attributes:
        text: The answer.
        mean_logprob: Mean token log-probability (None when unknown).
    """

    text: str
    mean_logprob: float | None = None


class AnswerWriter(Protocol):
    """Writes an answer to a question from passages (the fine-tuned generator, or a fake)."""

    def write(
        self, question: str, passages: Sequence[AnswerPassage], channel: str | None = None
    ) -> WrittenAnswer:
        """Write an answer.

        Args:
            question: The customer's question.
            passages: The retrieved passages, best first.
            channel: The channel the answer goes to, if known.

        Returns:
            The answer.
        """
        ...


class PromptCompleter(Protocol):
    """What :class:`GeneratorAnswerWriter` needs of a generator."""

    tokenizer: Any
    options: GeneratorOptions

    def complete(self, prompt_ids: list[int], max_new_tokens: int | None = None) -> Decoded:
        """Continue a ready prompt greedily."""
        ...


class GeneratorAnswerWriter:
    """The answer writer: the fine-tuned generator, with the answer prompt, greedy.

    Args:
        generator: The generator (:class:`bot.nlg.generation.generator.Generator`).
        max_new_tokens: The answer budget.
    """

    def __init__(self, generator: PromptCompleter, max_new_tokens: int = MAX_ANSWER_TOKENS) -> None:
        self.generator = generator
        self.max_new_tokens = max_new_tokens

    def write(
        self, question: str, passages: Sequence[AnswerPassage], channel: str | None = None
    ) -> WrittenAnswer:
        """Write an answer from the passages (see :class:`AnswerWriter`)."""
        options = self.generator.options
        ids = answer_prompt_ids(
            question,
            list(passages)[:MAX_PASSAGES],
            self.generator.tokenizer,
            options.answer_prompt_tokens,
            channel,
            options.system,
        )
        decoded = self.generator.complete(ids, self.max_new_tokens)
        logprob = None if math.isnan(decoded.mean_logprob) else decoded.mean_logprob
        return WrittenAnswer(decoded.text.strip(), logprob)


@dataclass(frozen=True)
class Citation:
    """A source of what was sent.

    Attributes:
        title: The document's title.
        section: The passage's heading path ("" at the top).
        source: The document's URL or path relative to the knowledge folder.
        chunk_id: The passage's chunk id.
    """

    title: str
    section: str
    source: str
    chunk_id: str

    def to_dict(self) -> dict[str, str]:
        """The citation as a JSON object."""
        return {
            "title": self.title,
            "section": self.section,
            "source": self.source,
            "chunk_id": self.chunk_id,
        }


@dataclass(frozen=True)
class KnowledgeAnswer:
    """What the knowledge step decided to send, and why.

    Attributes:
        kind: Answer, extract or don't know.
        text: The text to send (before citation and channel adaptation).
        citations: The sources behind ``text`` (none for don't know).
        failed: The checks the written answer failed (``guard:<code>`` for guardrails,
            ``no_writer`` when there was none to write).
        written: What the writer wrote ("" when nothing was written).
        relevance: The gate's calibrated relevance of the written answer, if checked.
        best_cosine: The best passage's dense cosine to the question (None: no passage).
        seconds: Time spent writing and checking.
        answerability: The gate's probability that the knowledge base answers the question
            (None when the passages carried no word coverage).
    """

    kind: AnswerKind
    text: str
    citations: tuple[Citation, ...]
    failed: tuple[str, ...]
    written: str
    relevance: float | None
    best_cosine: float | None
    seconds: float
    answerability: float | None = None

    @property
    def knowledge_gap(self) -> bool:
        """Whether the bot said it does not know."""
        return self.kind is AnswerKind.DONT_KNOW

    def metadata(self) -> dict[str, Any]:
        """What goes into the bot message's ``knowledge`` metadata (no customer text).

        Returns:
            ``{outcome, sources, failed, relevance, best_cosine, answerability, ms}``.
        """
        return {
            "outcome": self.kind.value,
            "sources": [c.to_dict() for c in self.citations],
            "failed": list(self.failed),
            "relevance": None if self.relevance is None else round(self.relevance, 4),
            "best_cosine": None if self.best_cosine is None else round(self.best_cosine, 4),
            "answerability": (None if self.answerability is None else round(self.answerability, 4)),
            "ms": round(self.seconds * 1000, 1),
        }


def retrieve(index: KnowledgeIndex, question: str, k: int) -> list[Hit]:
    """Retrieve the passages to answer from: the fused search, reranked by answerability.

    The index's best :data:`~bot.knowledge.answerability.RERANK_DEPTH` hits are reranked by
    :func:`~bot.knowledge.answerability.rerank` with the index's fitted answerability model
    (or the default), and the best ``k`` kept. The bot, the evaluation and the fitting of
    the answerability model all retrieve through here.

    Args:
        index: The knowledge index.
        question: The customer's question.
        k: How many passages.

    Returns:
        The passages, best first.
    """
    model = index.answerability or DEFAULT_ANSWERABILITY
    return rerank(index.search(question, max(k, RERANK_DEPTH)), model, k)


def gate_passages(hits: Sequence[Hit]) -> list[GatePassage]:
    """Turn search hits into the gate's passages (fused order kept).

    Args:
        hits: The hits, best first.

    Returns:
        The passages with their dense cosines and word coverages.
    """
    return [GatePassage(hit.chunk, float(hit.cosine), hit.coverage) for hit in hits]


def _citation(passage: GatePassage) -> Citation:
    chunk = passage.chunk
    return Citation(chunk.title, chunk.section, chunk.source, chunk.chunk_id)


def _from_decision(
    decision: GateDecision,
    passages: Sequence[GatePassage],
    written: WrittenAnswer | None,
    failed: tuple[str, ...],
    tone: str,
    started: float,
    guardrails: Guardrails | None,
) -> KnowledgeAnswer:
    best = max((p.cosine for p in passages), default=None)
    raw = written.text if written is not None else ""
    seconds = time.perf_counter() - started

    def sent(kind: AnswerKind, text: str, citations: tuple[Citation, ...]) -> KnowledgeAnswer:
        return KnowledgeAnswer(
            kind,
            text,
            citations,
            failed,
            raw,
            decision.relevance,
            best,
            seconds,
            decision.answerability,
        )

    if decision.send and written is not None:
        # Cite the passages the answer was written from that match the question at all.
        cited = tuple(
            _citation(p) for p in list(passages)[:MAX_PASSAGES] if p.cosine >= (best or 0.0) - 0.1
        )
        return sent(AnswerKind.ANSWER, raw, cited[:1])
    extract = decision.extract
    if (
        decision.fallback is FallbackKind.EXTRACT
        and extract is not None
        and not (guardrails is not None and guardrails.placeholders(extract.text))
    ):
        citation = Citation(extract.title, extract.section, extract.source, extract.chunk_id)
        return sent(AnswerKind.EXTRACT, extract.text, (citation,))
    return sent(AnswerKind.DONT_KNOW, decline_text(tone), ())


def answer_question(
    question: str,
    passages: Sequence[GatePassage],
    gate: AnswerGate,
    writer: AnswerWriter | None = None,
    guardrails: Guardrails | None = None,
    *,
    channel: str | None = None,
    tone: str = "friendly",
    conversation: Sequence[str] = (),
    product_names: Sequence[str] = (),
) -> KnowledgeAnswer:
    """Write, check and decide what to send for one question.

    Args:
        question: The customer's question.
        passages: The retrieved passages with their dense cosines, best first.
        gate: The answer gate.
        writer: The answer writer; None sends the gate's fallback (extract or don't know).
        guardrails: The generator's guardrails, run on the written answer as well; values
            the question, the conversation or the passages hold may be repeated.
        channel: The channel the answer goes to (part of the writer's prompt).
        tone: The channel's tone (``friendly`` or ``formal``), for the honest decline.
        conversation: The conversation's earlier texts: items the customer wrote may be
            repeated back.
        product_names: Known product names, for the gate's support check.

    Returns:
        What to send.
    """
    started = time.perf_counter()
    before = () if writer is None else (gate.sources(passages), gate.answerable(passages)[0])
    if writer is None or not all(c.passed for c in before):
        # Nobody to write, nothing to write from, or a question the knowledge base does not
        # answer: the gate's fallback decides, without spending time on the writer.
        decision = gate.fallback(question, passages)
        reason = ("no_writer",) if writer is None else tuple(c.name for c in before if not c.passed)
        return _from_decision(decision, passages, None, reason, tone, started, guardrails)
    written = writer.write(question, [AnswerPassage.from_chunk(p.chunk) for p in passages], channel)
    known = [
        question,
        *conversation,
        *(p.chunk.text for p in passages),
        *(p.chunk.source for p in passages),
    ]
    guard = (
        tuple(f"guard:{code}" for code in guardrails.check(written.text, None, known))
        if guardrails is not None
        else ()
    )
    decision = gate.check(
        question,
        written.text,
        passages,
        conversation=[question, *conversation],
        mean_logprob=written.mean_logprob,
        product_names=product_names,
    )
    if guard and decision.send:
        decision = gate.fallback(question, passages)
    failed = (*decision.failed, *guard)
    return _from_decision(decision, passages, written, failed, tone, started, guardrails)
