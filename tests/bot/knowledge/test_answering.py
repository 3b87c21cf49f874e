"""The answering step: write, check, and send the answer, an extract or "I don't know"."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.knowledge.answer_prompt import DECLINE_TEXTS, AnswerPassage
from bot.knowledge.answering import (
    AnswerKind,
    GeneratorAnswerWriter,
    WrittenAnswer,
    answer_question,
)
from bot.knowledge.chunks import Chunk
from bot.knowledge.gate import AnswerGate, GateConfig, GatePassage
from bot.knowledge.relevance import RelevanceCalibration
from bot.nlg.generation.decoding import Decoded
from bot.nlg.generation.generator import GeneratorOptions
from bot.nlg.generation.guardrails import Guardrails
from tests.support.generation import HashingEmbedder

CALIBRATION = RelevanceCalibration(slope=20.0, intercept=-3.0)
QUESTION = "how long is the warranty on down jackets"
WARRANTY = Chunk.build(
    "warranty.md#0",
    "warranty.md",
    "Warranty",
    "Down jackets",
    "Down jackets are covered against manufacturing faults for 2 years from purchase. "
    "Keep your receipt. Wear and tear, such as abrasion, is not covered.",
    "https://pinecrest.example/help/warranty",
)
SHIPPING = Chunk.build(
    "shipping.md#0",
    "shipping.md",
    "Shipping",
    "",
    "Standard shipping costs €4.95 and takes 5–7 business days.",
    "shipping.md",
)


class _Writer:
    def __init__(self, text: str, mean_logprob: float | None = -0.3) -> None:
        self.text, self.mean_logprob = text, mean_logprob
        self.calls: list[tuple[str, int, str | None]] = []

    def write(
        self, question: str, passages: Sequence[AnswerPassage], channel: str | None = None
    ) -> WrittenAnswer:
        self.calls.append((question, len(passages), channel))
        return WrittenAnswer(self.text, self.mean_logprob)


@pytest.fixture
def gate() -> AnswerGate:
    return AnswerGate(HashingEmbedder(), CALIBRATION, GateConfig(extract_min_cosine=0.5))


def _passages(cosine: float = 0.8) -> list[GatePassage]:
    return [GatePassage(WARRANTY, cosine), GatePassage(SHIPPING, 0.2)]


def test_a_good_answer_is_sent_with_its_source(gate: AnswerGate) -> None:
    writer = _Writer("Down jackets have a 2 years warranty against manufacturing faults.")
    answer = answer_question(QUESTION, _passages(), gate, writer, Guardrails(), channel="web")
    assert answer.kind is AnswerKind.ANSWER
    assert answer.text == writer.text
    assert [c.chunk_id for c in answer.citations] == ["warranty.md#0"]
    assert writer.calls == [(QUESTION, 2, "web")]
    meta = answer.metadata()
    assert meta["outcome"] == "answer" and meta["failed"] == []
    assert meta["sources"][0]["source"] == "https://pinecrest.example/help/warranty"


def test_a_fluent_answer_with_an_invented_number_becomes_the_cited_extract(
    gate: AnswerGate,
) -> None:
    writer = _Writer("Down jackets have a 5 years warranty against manufacturing faults.")
    answer = answer_question(QUESTION, _passages(), gate, writer, Guardrails())
    assert answer.kind is AnswerKind.EXTRACT
    assert "support" in answer.failed
    assert "2 years" in answer.text and "5 years" not in answer.text
    assert answer.citations[0].title == "Warranty"
    assert answer.written == writer.text


def test_a_guardrail_failure_stops_an_answer_the_gate_passed(gate: AnswerGate) -> None:
    writer = _Writer("Down jackets have a 2 years warranty, order [ORDER_ID] covered.")
    answer = answer_question(QUESTION, _passages(), gate, writer, Guardrails())
    assert answer.kind is AnswerKind.EXTRACT
    assert any(f.startswith("guard:") for f in answer.failed)


def test_without_a_relevant_passage_the_writer_is_not_run_and_the_bot_says_so(
    gate: AnswerGate,
) -> None:
    writer = _Writer("Yes, we sell kayaks.")
    unrelated = [GatePassage(SHIPPING, 0.05)]
    answer = answer_question("do you sell kayaks", unrelated, gate, writer, tone="formal")
    assert answer.kind is AnswerKind.DONT_KNOW
    assert answer.knowledge_gap
    assert answer.text == DECLINE_TEXTS["formal"]
    assert answer.citations == ()
    assert writer.calls == []
    assert answer.failed == ("sources", "answerable")


def test_a_question_the_knowledge_base_does_not_answer_skips_the_writer(
    gate: AnswerGate,
) -> None:
    writer = _Writer("Yes, the kids' bag is rated to 5°C.")
    # Close in meaning, but the passage lacks most of the question's words.
    near = [GatePassage(WARRANTY, 0.7, 0.15)]
    answer = answer_question("comfort rating of the kids bag", near, gate, writer)
    assert answer.kind is AnswerKind.DONT_KNOW
    assert writer.calls == []
    assert answer.failed == ("answerable",)
    assert answer.answerability is not None and answer.answerability < 0.75
    assert answer.metadata()["answerability"] == round(answer.answerability, 4)


def test_without_a_writer_a_confident_passage_is_extracted(gate: AnswerGate) -> None:
    answer = answer_question(QUESTION, _passages(), gate, None)
    assert answer.kind is AnswerKind.EXTRACT
    assert answer.failed == ("no_writer",)
    weak = answer_question(QUESTION, _passages(0.4), gate, None)
    assert weak.kind is AnswerKind.DONT_KNOW


class _Tokenizer:
    """Whitespace 'tokenizer': one id per word."""

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": [len(w) for w in text.split()]}


class _Completer:
    def __init__(self, budget: int) -> None:
        self.tokenizer = _Tokenizer()
        self.options = GeneratorOptions(answer_prompt_tokens=budget)
        self.prompts: list[list[int]] = []

    def complete(self, prompt_ids: list[int], max_new_tokens: int | None = None) -> Decoded:
        self.prompts.append(prompt_ids)
        return Decoded((1, 2), " Two years. ", float("nan"), 3.0, 1.0, True)


def test_the_generator_writer_keeps_the_prompt_budget_and_strips_the_answer() -> None:
    completer = _Completer(budget=90)
    writer = GeneratorAnswerWriter(completer, max_new_tokens=20)
    long_passages = [
        AnswerPassage.from_chunk(WARRANTY),
        AnswerPassage.from_chunk(SHIPPING),
        AnswerPassage.from_chunk(WARRANTY),
        AnswerPassage.from_chunk(SHIPPING),
    ]
    written = writer.write(QUESTION, long_passages, "slack")
    assert written.text == "Two years."
    assert written.mean_logprob is None
    assert len(completer.prompts[0]) <= 90


def test_retrieve_reranks_the_fused_hits_by_answerability() -> None:
    from bot.knowledge.answerability import DEFAULT_ANSWERABILITY, AnswerabilityModel
    from bot.knowledge.answering import retrieve
    from bot.knowledge.index import KnowledgeIndex
    from tests.support.retrieval import SAMPLE_CHUNKS, SynonymEmbedder

    index = KnowledgeIndex.build(SAMPLE_CHUNKS, SynonymEmbedder())
    try:
        hits = retrieve(index, "tumble dry a down jacket", 3)
        assert len(hits) == 3 and all(h.coverage is not None for h in hits)
        scores = [DEFAULT_ANSWERABILITY.probability(h.cosine, h.coverage or 0.0) for h in hits]
        assert scores == sorted(scores, reverse=True)
        # A fitted model of the index is the one used: weighting words alone reorders.
        index.answerability = AnswerabilityModel(0.0, 10.0, -5.0)
        by_words = retrieve(index, "tumble dry a down jacket", 3)
        coverages = [h.coverage for h in by_words]
        assert coverages == sorted(coverages, reverse=True)
    finally:
        index.close()
