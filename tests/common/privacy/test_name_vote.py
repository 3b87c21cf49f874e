"""The tagger's names plus the spaCy names it does not rule out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from common.privacy.detectors import Detection
from common.privacy.name_vote import VetoedNameFinder, span_person_p


class FakeTagger:
    """Returns fixed spans and word-piece probabilities per text."""

    def __init__(self, result: dict[str, tuple[list[Detection], list[tuple[int, int, float]]]]):
        self.result = result
        self.calls = 0

    def tag_many(self, texts: Sequence[str]) -> list[Any]:
        self.calls += 1
        return [self.result[t] for t in texts]


class FakeFinder:
    def __init__(self, result: dict[str, list[Detection]]) -> None:
        self.result = result

    def find_many(self, texts: Sequence[str]) -> list[list[Detection]]:
        return [self.result[t] for t in texts]


def test_span_probability_is_the_highest_overlapping_word_piece() -> None:
    scores = [(0, 3, 0.01), (4, 8, 0.4), (8, 10, 0.9), (11, 14, 0.2)]
    assert span_person_p(scores, 4, 10) == 0.9
    assert span_person_p(scores, 0, 3) == 0.01
    assert span_person_p(scores, 20, 25) == 0.0


def test_spacy_names_the_tagger_rules_out_are_dropped_its_own_kept() -> None:
    text = "one Cortado for Dana, ask Ines at Leeds"
    cortado, dana, ines = (
        Detection("PERSON", 4, 11),
        Detection("PERSON", 16, 20),
        Detection("PERSON", 26, 30),
    )
    address = Detection("ADDRESS", 34, 39)
    scores = [(4, 11, 0.01), (16, 20, 0.3), (26, 30, 0.97), (34, 39, 0.0)]
    tagger = FakeTagger({text: ([ines], scores)})
    spacy = FakeFinder({text: [cortado, dana, address]})
    found = VetoedNameFinder(spacy, tagger, min_person_p=0.05).find_many([text])  # type: ignore[arg-type]
    # Cortado vetoed; Dana kept (0.3); Ines from the tagger; spaCy's other types untouched.
    assert found == [[dana, ines, address]]
    assert tagger.calls == 1
    strict = VetoedNameFinder(spacy, tagger, min_person_p=0.5).find_many([text])  # type: ignore[arg-type]
    assert strict == [[ines, address]]


def test_threshold_is_validated() -> None:
    with pytest.raises(ValueError, match="min_person_p"):
        VetoedNameFinder(FakeFinder({}), FakeTagger({}), min_person_p=1.5)  # type: ignore[arg-type]
