"""Passage extracts: the units that answer the question, whole words, within budget."""

from __future__ import annotations

import re

import pytest

from bot.knowledge.chunks import Chunk
from bot.knowledge.extract import (
    FOCUS_MARGIN,
    extract_best,
    join_units,
    linearise_tables,
    range_matches,
    sentences,
    shorten,
)
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


def _chunk(text: str, n: int = 1, doc: str = "care.md", title: str = "Caring for down") -> Chunk:
    return Chunk.build(f"{doc}#{n}", doc, title, "Washing", text, f"https://x.example/{doc}")


def extract_text(question: str, passage: str, embedder, budget: int) -> str:
    extract = extract_best(question, [(_chunk(passage), 0.7)], embedder, budget)
    assert extract is not None
    return extract.text


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


def test_the_extract_carries_the_citation():
    extract = extract_best("wash down jacket", [(_chunk(PASSAGE), 0.71)], HashingEmbedder(), 320)
    assert extract is not None
    assert (extract.title, extract.section, extract.source) == (
        "Caring for down",
        "Washing",
        "https://x.example/care.md",
    )
    assert (extract.chunk_id, extract.cosine) == ("care.md#1", 0.71)
    assert extract.text


def test_no_passage_or_no_text_gives_no_extract():
    assert extract_best("anything", [], HashingEmbedder(), 320) is None
    assert extract_best("anything", [(_chunk("  \n- \n"), 0.5)], HashingEmbedder(), 320) is None


def test_the_answer_is_found_in_another_passage_of_the_same_document():
    # The introduction matches the question best as a whole; the specification line answers it.
    intro = _chunk("The Transit 40 is a travel pack that opens like a suitcase.", 0, "transit.md")
    specs = _chunk("- Capacity: 40 litres\n- Weight: 1.2 kg\n- Price: 139", 2, "transit.md")
    other = _chunk("Our backpacks weigh between 1.2 and 2.1 kg.", 3, "packs.md")
    extract = extract_best(
        "weight 1.2 kg", [(intro, 0.67), (other, 0.65), (specs, 0.61)], HashingEmbedder(), 320
    )
    assert extract is not None
    assert extract.text == "Weight: 1.2 kg"
    assert extract.chunk_id == "transit.md#2"


def test_the_extract_keeps_only_units_close_to_the_best():
    passage = "Wash the fleece at 30 degrees. Skip fabric softener. Our shop opens at nine."
    text = extract_text("wash the fleece at 30 degrees", passage, HashingEmbedder(), 320)
    assert text.startswith("Wash the fleece at 30 degrees.")
    assert "shop opens" not in text
    assert 0 < FOCUS_MARGIN < 1


def test_table_rows_are_written_out_with_their_header():
    sizes = "| Size | Chest (cm) | Waist (cm) |\n|---|---|---|\n| S | 82–86 | 66–70 |"
    assert linearise_tables(sizes) == "Size S: Chest (cm) 82–86, Waist (cm) 66–70"
    compare = "| | Drizzle | Stormline 3L |\n|:--|--:|---|\n| Weight | 240 g | 395 g |\nAfter."
    assert linearise_tables(compare) == "Weight: Drizzle 240 g, Stormline 3L 395 g\nAfter."
    assert sentences(sizes) == ["Size S: Chest (cm) 82–86, Waist (cm) 66–70"]


def test_a_line_broken_inside_a_sentence_is_joined():
    text = "Dry them away from heat. Never dry boots on a\nradiator or by a fire.\nNext line"
    assert sentences(text) == [
        "Dry them away from heat.",
        "Never dry boots on a radiator or by a fire.",
        "Next line",
    ]
    # A list item and a label end their line even when the next starts in lower case.
    assert sentences("- Weight: 1.2 kg\n- price: 139") == ["Weight: 1.2 kg", "price: 139"]


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


def test_units_are_scored_with_the_title_not_a_question_like_heading():
    # FAQ-style headings repeat the customer's question; scored with them, every unit
    # looked like the question. The heading path must not change the extract.
    text = (
        "Sign up on the website in a minute. Choose Premium at checkout. "
        "Our support team is happy to help with anything else you need."
    )
    question = "how do I sign up for an account"
    plain = Chunk.build("faq.md#0", "faq.md", "Accounts", "", text, "faq.md")
    faq = Chunk.build("faq.md#0", "faq.md", "Accounts", question, text, "faq.md")
    one = extract_best(question, [(plain, 0.6)], HashingEmbedder(), 320)
    two = extract_best(question, [(faq, 0.6)], HashingEmbedder(), 320)
    assert one is not None and two is not None
    assert one.text == two.text == "Sign up on the website in a minute."


def test_rows_and_list_items_are_joined_with_a_semicolon_sentences_with_a_space():
    assert join_units(["Size S: Chest 88–94", "Size M: Chest 94–100"]) == (
        "Size S: Chest 88–94; Size M: Chest 94–100"
    )
    assert join_units(["Dry it flat.", "Weight: 1.2 kg", "Price: 139"]) == (
        "Dry it flat. Weight: 1.2 kg; Price: 139"
    )
    assert join_units(["Only one"]) == "Only one"


def test_a_labelled_range_that_holds_the_questions_number_matches():
    question = "what size jacket for a 96 cm chest?"
    # 96 is in the waist range of XL too, but the question is about the chest.
    assert range_matches(
        question,
        [
            "Size M: Chest (cm) 94–100, Waist (cm) 82–88",
            "Size XL: Chest (cm) 106–112, Waist (cm) 94–100",
        ],
    ) == [True, False]
    assert range_matches("what size for my chest?", ["Size M: Chest (cm) 94–100"]) == [False]
    assert range_matches("delivery in 3 days?", ["Standard delivery: 3-5 business days"]) == [True]
    assert range_matches("delivery in 7 days?", ["Standard delivery: 3-5 business days"]) == [False]


def test_the_row_whose_range_holds_the_number_is_the_extract():
    chart = (
        "| Size | Chest (cm) | Waist (cm) |\n|---|---|---|\n| S | 88–94 | 76–82 |\n"
        "| M | 94–100 | 82–88 |\n| L | 100–106 | 88–94 |\n| XL | 106–112 | 94–100 |"
    )
    chunk = _chunk(chart, 0, "sizes.md", "Clothing size guide")
    extract = extract_best("which size for a 96 cm chest", [(chunk, 0.6)], HashingEmbedder(), 320)
    assert extract is not None
    assert extract.text == "Size M: Chest (cm) 94–100, Waist (cm) 82–88"
