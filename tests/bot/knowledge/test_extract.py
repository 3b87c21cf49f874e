"""Passage extracts: the sentences closest to the question, whole words, within budget."""

from __future__ import annotations

import re

import pytest

from bot.knowledge.chunks import Chunk
from bot.knowledge.extract import extract_passage, extract_text, sentences, shorten
from tests.support.generation import HashingEmbedder

PASSAGE = (
    "## Machine washing\n"
    "- Close all zips and empty the pockets.\n"
    "- Machine wash your down jacket cold, on a gentle cycle, with down wash.\n"
    "Never use fabric softener. Tumble dry low with two clean tennis balls!"
)


def test_sentences_drop_markdown_markers():
    assert sentences(PASSAGE) == [
        "Machine washing",
        "Close all zips and empty the pockets.",
        "Machine wash your down jacket cold, on a gentle cycle, with down wash.",
        "Never use fabric softener.",
        "Tumble dry low with two clean tennis balls!",
    ]


def test_the_extract_keeps_the_best_sentences_in_passage_order():
    text = extract_text("can I machine wash a down jacket", PASSAGE, HashingEmbedder(), 100)
    assert "Machine wash your down jacket cold" in text
    assert len(text) <= 100
    parts = sentences(PASSAGE)
    kept = [p for p in parts if p in text]
    assert kept == sorted(kept, key=parts.index)


@pytest.mark.parametrize("budget", [40, 55, 80, 120, 400])
def test_the_extract_never_cuts_a_word(budget):
    text = extract_text("how do I dry it with tennis balls", PASSAGE, HashingEmbedder(), budget)
    assert 0 < len(text) <= budget
    whole_words = set(re.findall(r"[\w'-]+", PASSAGE))
    assert all(w in whole_words for w in re.findall(r"[\w'-]+", text))


def test_shorten_cuts_at_a_word_boundary():
    assert shorten("short enough", 20) == "short enough"
    assert shorten("Machine wash your down jacket cold", 20) == "Machine wash your…"
    assert len(shorten("Machine wash your down jacket cold", 20)) <= 20
    assert shorten("Supercalifragilistic words", 5) == ""


def test_extract_passage_carries_the_citation():
    chunk = Chunk.build(
        "care.md#1", "care.md", "Caring for down", "Washing", PASSAGE, "https://x.example/care"
    )
    extract = extract_passage("wash down jacket", chunk, 0.71, HashingEmbedder(), 320)
    assert (extract.title, extract.section, extract.source) == (
        "Caring for down",
        "Washing",
        "https://x.example/care",
    )
    assert (extract.chunk_id, extract.cosine) == ("care.md#1", 0.71)
    assert extract.text


def test_a_decimal_point_does_not_end_a_sentence():
    # Splitting at "6.95" sent "return shipping to us costs 6." to customers: the
    # evaluation's unsupported-answer check caught the changed price.
    passage = (
        "For repairs outside warranty, return shipping to us costs 6.95; we pay to send it "
        "back to you. The Traverse 55 weighs 1.6 kg. Pair it with a mat rated R 4.5."
    )
    assert sentences(passage) == [
        "For repairs outside warranty, return shipping to us costs 6.95; we pay to send it "
        "back to you.",
        "The Traverse 55 weighs 1.6 kg.",
        "Pair it with a mat rated R 4.5.",
    ]
    extract = extract_text("what does return shipping cost?", passage, HashingEmbedder(), 120)
    assert "6.95" in extract
    assert not re.search(r"\d\. \d", extract)
