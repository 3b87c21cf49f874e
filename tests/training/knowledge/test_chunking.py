"""Chunking: sections are never crossed, sizes hold, words are never cut, ids are stable."""

import pytest

from common.errors import ConfigError
from training.knowledge.chunking import chunk_document, split_text
from training.knowledge.document import Document, Section

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank today."  # 70


def test_short_paragraphs_are_packed_into_one_chunk():
    assert split_text("One.\n\nTwo.\n\nThree.", 100) == ["One.\n\nTwo.\n\nThree."]


def test_paragraphs_are_kept_whole_when_they_fit():
    first, second = "a " * 40, "b " * 40
    chunks = split_text(f"{first.strip()}\n\n{second.strip()}", 100)
    assert chunks == [first.strip(), second.strip()]


def test_a_long_paragraph_is_split_on_sentences_never_inside_a_word():
    paragraph = " ".join([SENTENCE] * 10)
    chunks = split_text(paragraph, 150)
    assert all(len(c) <= 150 for c in chunks)
    assert all(c.endswith(".") for c in chunks)
    assert " ".join(chunks) == paragraph


def test_a_long_sentence_is_split_between_words():
    sentence = " ".join(f"word{i}" for i in range(100))
    chunks = split_text(sentence, 100)
    assert all(len(c) <= 100 for c in chunks)
    assert " ".join(chunks).split() == sentence.split()


def test_list_items_of_a_long_paragraph_are_split_on_lines():
    items = "\n".join(f"* item number {i} with some words" for i in range(10))
    chunks = split_text(items, 120)
    assert all(len(c) <= 120 for c in chunks)
    assert all(line.startswith("* item") for c in chunks for line in c.split("\n"))


def test_a_word_longer_than_the_limit_stays_whole():
    url = "https://example.com/" + "x" * 200
    assert split_text(f"See {url} now.", 100) == ["See", url, "now."]


def test_empty_text_gives_no_chunk():
    assert split_text("\n\n  \n\n", 100) == []


def _doc(*sections: Section) -> Document:
    return Document("care/down.md", "Down", "https://h/care", "markdown", sections)


def test_chunks_never_cross_sections_and_carry_the_heading_path():
    chunks = chunk_document(_doc(Section("", "Intro."), Section("Washing > Machine", "Cold.")))
    assert [(c.chunk_id, c.section, c.text) for c in chunks] == [
        ("care/down.md#0", "", "Intro."),
        ("care/down.md#1", "Washing > Machine", "Cold."),
    ]
    assert all(c.title == "Down" and c.source == "https://h/care" for c in chunks)


def test_chunk_ids_and_hashes_are_stable_across_runs():
    doc = _doc(Section("A", " ".join([SENTENCE] * 30)))
    first, second = chunk_document(doc, 300), chunk_document(doc, 300)
    assert [(c.chunk_id, c.hash) for c in first] == [(c.chunk_id, c.hash) for c in second]
    assert len(first) > 5 and all(len(c.text) <= 300 for c in first)


def test_the_lead_opens_every_chunk_of_its_section():
    answer = "A: " + " ".join([SENTENCE] * 6)
    chunks = chunk_document(_doc(Section("Ship?", answer, lead="Q: Ship?")), 200)
    assert len(chunks) > 1
    assert all(c.text.startswith("Q: Ship?\n") and len(c.text) <= 200 for c in chunks)
    assert chunks[0].text.startswith("Q: Ship?\nA: The quick")


def test_a_tiny_chunk_size_is_refused():
    with pytest.raises(ConfigError):
        chunk_document(_doc(Section("", "x")), 10)
