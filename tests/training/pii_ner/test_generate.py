"""Generated tagger data: spans sit on the filled values, decoys stay O, seeds repeat."""

from __future__ import annotations

import re

import pytest

from training.pii_ner.generate import ExampleGenerator, split_templates, thing_nouns
from training.pii_ner.templates import DECOY_TEMPLATES, PERSON_TEMPLATES
from training.pii_ner.train import LABELS, token_labels


def test_spans_cover_exactly_the_filled_slots() -> None:
    generator = ExampleGenerator(3, typo_examples=0.0)
    for _ in range(50):
        example = generator.fill("my dad {first} set up {addr} with {org}")
        text = example.text
        (ps, pe, pt), (a_s, a_e, at) = example.spans
        assert (pt, at) == ("PERSON", "ADDRESS")
        assert text[:ps].lower() == "my dad "
        assert text[pe : pe + 8].lower() == " set up "
        assert a_s == pe + 8
        assert text[a_e : a_e + 6].lower() == " with "
        assert text[ps:pe] == text[ps:pe].strip() and text[ps:pe]


def test_typos_touch_the_words_around_a_name_never_the_name() -> None:
    generator = ExampleGenerator(4, typo_examples=1.0)
    clean = " thanks for everything, wonderful service from the whole team"
    texts = []
    for _ in range(60):
        example = generator.fill("{first}" + clean)
        ((start, end, kind),) = example.spans
        assert (start, kind) == (0, "PERSON")
        name = example.text[start:end]
        assert name == name.strip() and "  " not in name
        texts.append(example.text[end:])
    assert sum(t != clean and t.casefold() != clean for t in texts) > 20


def test_thing_slots_take_ordinary_nouns_never_labelled() -> None:
    generator = ExampleGenerator(6, typo_examples=0.0)
    nouns = set(thing_nouns())
    assert len(nouns) > 10_000
    assert not {"maria", "john", "deepa"} & nouns
    for _ in range(30):
        example = generator.fill("can I get a {thing} please")
        assert example.spans == ()
        word = example.text.casefold().removeprefix("can i get a ").removesuffix(" please")
        assert word in nouns


def test_decoys_are_never_labelled() -> None:
    generator = ExampleGenerator(5)
    for template in DECOY_TEMPLATES:
        assert generator.fill(template).spans == ()
    example = generator.fill("{org} and {brand} in {city}, {nat}, {product}, {label} {phone}")
    assert example.spans == ()


def test_unknown_slot_is_an_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        ExampleGenerator(1).fill("hi {nope}")


def test_same_seed_same_examples_other_seed_others() -> None:
    first = ExampleGenerator(11).examples(200)
    assert first == ExampleGenerator(11).examples(200)
    assert first != ExampleGenerator(12).examples(200)
    names = [e.text[s:t] for e in first for s, t, k in e.spans if k == "PERSON"]
    assert len(names) > 80
    assert any(n.islower() for n in names) and any(n.istitle() for n in names)
    assert all("\n" not in n for n in names)


def test_held_out_templates_are_disjoint_from_training_ones() -> None:
    train = split_templates(PERSON_TEMPLATES, held_out=False)
    held = split_templates(PERSON_TEMPLATES, held_out=True)
    assert set(train).isdisjoint(held)
    assert len(train) + len(held) == len(PERSON_TEMPLATES)
    assert len(held) >= len(PERSON_TEMPLATES) // 6


def test_token_labels_mark_first_piece_b_and_the_rest_i() -> None:
    text = "ty Oluwaseun Adeyemi-Okafor, see you"
    spans = [(3, 27, "PERSON")]
    offsets = [(0, 0), (0, 2)] + [(m.start(), m.end()) for m in re.finditer(r"\w+|-", text[3:])]
    offsets = [offsets[0], offsets[1]] + [(s + 3, e + 3) for s, e in offsets[2:]] + [(0, 0)]
    labels = [LABELS[i] if i >= 0 else None for i in token_labels(offsets, spans)]
    inside = [(text[s:e], lab) for (s, e), lab in zip(offsets, labels, strict=True) if e > s]
    assert labels[0] is None and labels[-1] is None
    assert inside[:5] == [
        ("ty", "O"),
        ("Oluwaseun", "B-PERSON"),
        ("Adeyemi", "I-PERSON"),
        ("-", "I-PERSON"),
        ("Okafor", "I-PERSON"),
    ]
    assert all(lab == "O" for _, lab in inside[5:])
