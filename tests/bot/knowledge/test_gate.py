"""The answer gate: each check, the decision and its fallback, the configuration."""

from __future__ import annotations

import math

import pytest

from bot.knowledge.chunks import Chunk
from bot.knowledge.gate import (
    KNOWLEDGE_GAP_TRIGGER,
    AnswerGate,
    FallbackKind,
    GateConfig,
    GatePassage,
)
from bot.knowledge.relevance import RelevanceCalibration
from common.errors import ConfigError
from tests.support.generation import HashingEmbedder

# Bag-of-words cosines are lower than MiniLM's; 0.5 at a cosine of 0.15.
CALIBRATION = RelevanceCalibration(slope=20.0, intercept=-3.0)
QUESTION = "how long is the warranty on down jackets"
WARRANTY = Chunk.build(
    "warranty.md#0",
    "warranty.md",
    "Warranty",
    "Down jackets",
    "Down jackets are covered against manufacturing faults for 2 years from purchase. "
    "Keep your receipt. Wear and tear, such as abrasion, is not covered. "
    "To claim, email help@pinecrest.example with photos.",
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


@pytest.fixture
def gate() -> AnswerGate:
    return AnswerGate(HashingEmbedder(), CALIBRATION)


def passages(cosine: float = 0.8) -> list[GatePassage]:
    # Best first, as retrieval hands them over.
    return [GatePassage(WARRANTY, cosine), GatePassage(SHIPPING, 0.2)]


def test_a_supported_relevant_confident_answer_is_sent(gate):
    answer = "Down jackets have a two-year warranty against manufacturing faults."
    decision = gate.check(QUESTION, answer, passages(), mean_logprob=-0.4)
    assert decision.send
    assert decision.failed == ()
    assert decision.fallback is None and decision.trigger is None
    assert decision.relevance is not None and decision.relevance > 0.5


def test_a_fluent_answer_with_an_invented_number_is_caught(gate):
    answer = "Our down jackets come with a 5-year warranty."
    decision = gate.check(QUESTION, answer, passages(), mean_logprob=-0.3)
    assert not decision.send
    assert decision.failed == ("support",)
    assert [c.text for c in decision.unsupported] == ["5-year"]
    assert "5-year" in decision.reasons[0]


def test_an_invented_price_is_caught(gate):
    answer = "Standard shipping on down jackets costs €5.95 and takes 5-7 business days."
    decision = gate.check("how much is shipping", answer, passages(), mean_logprob=-0.3)
    assert "support" in decision.failed
    assert [c.text for c in decision.unsupported] == ["€5.95"]


def test_an_invented_url_is_caught_and_the_cited_one_passes(gate):
    invented = "See pinecrest.example/down-warranty for the down jackets warranty."
    cited = "See https://pinecrest.example/help/warranty for the down jackets warranty."
    bad = gate.check(QUESTION, invented, passages(), mean_logprob=-0.3)
    good = gate.check(QUESTION, cited, passages(), mean_logprob=-0.3)
    assert [c.text for c in bad.unsupported] == ["pinecrest.example/down-warranty"]
    assert good.send


def test_the_customers_order_number_counts_as_supported(gate):
    answer = "Order PC-123456: down jackets have a 2-year warranty."
    said = ["hi, my order number is PC-123456"]
    assert gate.check(QUESTION, answer, passages(), conversation=said).send
    unsaid = gate.check(QUESTION, answer, passages())
    assert [c.text for c in unsaid.unsupported] == ["PC-123456"]


def test_product_names_come_from_the_caller(gate):
    answer = "The Summit Down Jacket warranty on down jackets is 2 years."
    products = ["Summit Down Jacket", "Warranty"]
    decision = gate.check(QUESTION, answer, passages(), product_names=products)
    assert [c.kind for c in decision.unsupported] == ["product"]


def test_an_off_topic_answer_fails_relevance(gate):
    answer = "Standard shipping costs €4.95."
    decision = gate.check(QUESTION, answer, passages(), mean_logprob=-0.3)
    assert decision.failed == ("relevance",)
    assert decision.relevance is not None and decision.relevance < 0.5


def test_relevance_uses_the_calibration():
    answer = "Down jackets have a 2-year warranty."
    strict = AnswerGate(HashingEmbedder(), RelevanceCalibration(slope=10.0, intercept=-9.0))
    lenient = AnswerGate(HashingEmbedder(), CALIBRATION)
    assert not strict.relevance(QUESTION, answer)[0].passed
    assert lenient.relevance(QUESTION, answer)[0].passed


@pytest.mark.parametrize(
    ("logprob", "passed"),
    [(None, True), (-0.2, True), (-1.5, True), (-1.6, False), (math.nan, False)],
)
def test_confidence(gate, logprob, passed):
    assert gate.confidence(logprob).passed is passed


def test_low_confidence_alone_stops_the_answer(gate):
    answer = "Down jackets have a 2-year warranty."
    decision = gate.check(QUESTION, answer, passages(), mean_logprob=-3.0)
    assert decision.failed == ("confidence",)


def test_without_a_matching_passage_the_sources_check_fails(gate):
    answer = "Down jackets have a warranty covering seams and zips."
    # Nothing matches, so the knowledge base cannot answer either.
    assert gate.check(QUESTION, answer, []).failed == ("sources", "answerable")
    assert gate.check(QUESTION, answer, passages(cosine=0.1)).failed == (
        "sources",
        "answerable",
    )


def covered(cosine: float, coverage: float) -> list[GatePassage]:
    return [GatePassage(SHIPPING, 0.2, 0.1), GatePassage(WARRANTY, cosine, coverage)]


def test_a_close_passage_that_lacks_the_questions_words_is_a_knowledge_gap(gate):
    # A question about something the help centre never mentions ("kids") lands near a
    # passage on the neighbouring topic; the words the passage lacks decide.
    answer = "Down jackets have a two-year warranty against manufacturing faults."
    held = gate.check(QUESTION, answer, covered(0.7, 0.9), mean_logprob=-0.4)
    assert held.send and held.answerability is not None and held.answerability > 0.75
    lacking = gate.check(QUESTION, answer, covered(0.7, 0.2), mean_logprob=-0.4)
    assert not lacking.send
    assert lacking.failed == ("answerable",)
    assert lacking.fallback is FallbackKind.DONT_KNOW
    assert lacking.trigger == KNOWLEDGE_GAP_TRIGGER
    assert lacking.answerability is not None and lacking.answerability < 0.75
    assert "answerability" in lacking.reasons[0]


def test_the_fallback_extracts_only_what_the_knowledge_base_answers(gate):
    assert gate.fallback(QUESTION, covered(0.6, 0.95)).fallback is FallbackKind.EXTRACT
    gap = gate.fallback(QUESTION, covered(0.6, 0.1))
    assert gap.fallback is FallbackKind.DONT_KNOW and gap.failed == ("answerable",)


def test_min_answerable_moves_the_border(gate):
    strict = AnswerGate(HashingEmbedder(), CALIBRATION, GateConfig(min_answerable=0.99))
    assert gate.fallback(QUESTION, covered(0.6, 0.8)).fallback is FallbackKind.EXTRACT
    assert strict.fallback(QUESTION, covered(0.6, 0.8)).fallback is FallbackKind.DONT_KNOW
    with pytest.raises(ConfigError, match="min_answerable"):
        GateConfig(min_answerable=1.5)


def test_a_failed_answer_with_a_confident_passage_gets_its_extract(gate):
    decision = gate.check(QUESTION, "Our down jackets come with a 5-year warranty.", passages())
    assert decision.fallback is FallbackKind.EXTRACT
    assert decision.trigger is None
    extract = decision.extract
    assert extract is not None
    assert extract.chunk_id == "warranty.md#0"
    assert (extract.title, extract.source) == (
        "Warranty",
        "https://pinecrest.example/help/warranty",
    )
    assert "2 years" in extract.text
    assert len(extract.text) <= GateConfig().extract_max_chars
    assert extract.cosine == 0.8


def test_a_failed_answer_without_a_confident_passage_is_a_knowledge_gap(gate):
    decision = gate.check(QUESTION, "Our down jackets come with a 5-year warranty.", passages(0.45))
    assert decision.fallback is FallbackKind.DONT_KNOW
    assert decision.trigger == KNOWLEDGE_GAP_TRIGGER == "knowledge_gap"
    assert decision.extract is None
    assert gate.fallback(QUESTION, []).fallback is FallbackKind.DONT_KNOW


def test_the_extract_threshold_is_configurable():
    config = GateConfig(extract_min_cosine=0.9)
    gate = AnswerGate(HashingEmbedder(), CALIBRATION, config)
    decision = gate.check(QUESTION, "Our down jackets come with a 5-year warranty.", passages())
    assert decision.fallback is FallbackKind.DONT_KNOW


def test_policy_terms_are_configurable():
    answer = "Down jackets have a 2-year warranty and free repair."
    default = AnswerGate(HashingEmbedder(), CALIBRATION)
    custom = AnswerGate(HashingEmbedder(), CALIBRATION, GateConfig(policy_terms=("exchange",)))
    assert default.check(QUESTION, answer, passages()).failed == ("support",)
    assert custom.check(QUESTION, answer, passages()).send


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_relevance": 1.5},
        {"min_relevance": -0.1},
        {"min_mean_logprob": 0.5},
        {"min_mean_logprob": math.nan},
        {"min_source_cosine": 1.2},
        {"extract_min_cosine": -2.0},
        {"extract_max_chars": 10},
        {"policy_terms": ("refund", " ")},
    ],
)
def test_config_validation(kwargs):
    with pytest.raises(ConfigError):
        GateConfig(**kwargs)


def test_default_config_is_valid():
    config = GateConfig()
    assert config.min_relevance == 0.5 and config.extract_max_chars == 320


def test_an_answer_that_restates_the_question_fails_the_echo_check(gate):
    echo = "The warranty on down jackets is long."
    decision = gate.check(QUESTION, echo, passages())
    assert decision.failed == ("echo",)
    assert not decision.send
    assert "restates the question" in " ".join(decision.reasons)


def test_novelty_counts_content_words_the_question_lacks():
    from bot.knowledge.gate import content_words, novelty

    assert content_words("Our jackets, the jacket's zips") >= {"jacket", "zip"}
    question = "can I wash a down jacket in a machine?"
    assert novelty(question, "You can wash a down jacket in a machine.") == 0.0
    assert novelty(question, "It is.") == 0.0
    assert novelty(question, "Yes: front-loader, gentle 30 degree cycle, down wash.") > 0.8
    assert novelty("how long is the warranty", "It is 2 years.") == 1.0


def test_min_novelty_is_validated_and_zero_turns_the_check_off():
    with pytest.raises(ConfigError, match="min_novelty"):
        GateConfig(min_novelty=1.5)
    off = AnswerGate(HashingEmbedder(), CALIBRATION, GateConfig(min_novelty=0.0))
    assert "echo" not in off.check(QUESTION, "Down jackets: warranty.", passages()).failed
