"""The evaluation's own unsupported-item checker, independent of the answer gate."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.knowledge.chunks import Chunk
from bot.knowledge.gate import AnswerGate, GatePassage
from bot.knowledge.relevance import RelevanceCalibration
from tests.support.generation import HashingEmbedder
from training.evaluate import unsupported
from training.evaluate.unsupported import AnswerRecord, unsupported_items, unsupported_rate

WARRANTY = "Down jackets are covered against manufacturing faults for 2 years."
SHIPPING = "Standard shipping costs €4.95 and takes 5–7 business days. See https://pinecrest.example/shipping."


def test_the_checker_does_not_import_the_gate():
    tree = ast.parse(Path(unsupported.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not any(name and name.startswith("bot") for name in imported)


@pytest.mark.parametrize(
    ("answer", "item"),
    [
        ("Our down jackets come with a 5-year warranty.", "5-year"),
        ("Standard shipping costs €5.95.", "€5.95"),
        ("Standard shipping costs 4.95 USD.", "4.95 USD"),
        (
            "See https://pinecrest.example/warranty for details.",
            "https://pinecrest.example/warranty",
        ),
        ("Shipping takes 9 business days.", "9 business days"),
        ("It is 20% off.", "20%"),
        ("Call us on 0800 123.", "0800"),
    ],
)
def test_invented_items_are_flagged(answer, item):
    assert item in unsupported_items(answer, [WARRANTY, SHIPPING])


@pytest.mark.parametrize(
    "answer",
    [
        "Down jackets have a 2-year warranty.",
        "Down jackets have a two-year warranty.",
        "Shipping is 4,95 EUR and takes 5-7 days.",
        "Details: https://www.pinecrest.example/shipping/.",
        "Sorry, I can't help with that.",
    ],
)
def test_supported_answers_are_clean(answer):
    assert unsupported_items(answer, [WARRANTY, SHIPPING]) == []


def test_numbers_written_as_words_in_the_sources_count():
    assert unsupported_items("Allow 2 weeks.", ["Allow two weeks."]) == []


def test_no_conversions_between_units():
    assert unsupported_items("Allow 2 weeks.", ["Allow 14 days."]) == ["2 weeks"]


def test_the_conversation_counts_as_a_source():
    answer = "Order 4471 has shipped."
    assert unsupported_items(answer, [SHIPPING], ["my order is 4471"]) == []
    assert unsupported_items(answer, [SHIPPING]) == ["4471"]


def test_product_names_must_be_in_the_sources():
    products = ["Summit Down Jacket", "Ridge 2 Tent"]
    answer = "The Ridge 2 Tent and the Summit Down Jacket both have a 2-year warranty."
    sources = ["Summit Down Jacket: " + WARRANTY]
    assert unsupported_items(answer, sources, product_names=products) == ["Ridge 2 Tent"]


def test_it_and_the_gate_both_flag_the_invented_number():
    chunk = Chunk.build("w.md#0", "w.md", "Warranty", "Down jackets", WARRANTY, "w.md")
    gate = AnswerGate(HashingEmbedder(), RelevanceCalibration(20.0, -3.0))
    for answer in (
        "Our down jackets come with a 5-year warranty.",
        "Down jackets are covered against manufacturing faults for 3 years.",
        "Down jackets are covered for 2 years; shipping is €7.50.",
    ):
        decision = gate.check(
            "how long is the warranty on down jackets", answer, [GatePassage(chunk, 0.8)]
        )
        assert "support" in decision.failed
        assert unsupported_items(answer, [chunk.title, chunk.text])


def test_rate_counts_sent_answers_only():
    records = [
        AnswerRecord("Down jackets have a 5-year warranty.", (WARRANTY,)),
        AnswerRecord("Down jackets have a 2-year warranty.", (WARRANTY,)),
        AnswerRecord("Shipping costs €4.95.", (SHIPPING,)),
        AnswerRecord("Shipping costs €9.95.", (SHIPPING,), sent=False),
    ]
    assert unsupported_rate(records) == pytest.approx(1 / 3)
    assert unsupported_rate([]) == 0.0
    assert unsupported_rate([AnswerRecord("€1", sent=False)]) == 0.0
