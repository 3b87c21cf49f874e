"""The answerability model: its probability, fitting, saving and reading."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import pytest

from bot.knowledge.answerability import (
    ANSWERABILITY_FILE,
    DEFAULT_ANSWERABILITY,
    AnswerabilityExample,
    AnswerabilityModel,
    fit_answerability,
    read_answerability,
    rerank,
    signals,
)
from common.errors import ConfigError, TrainingDataError


@dataclass(frozen=True)
class _Passage:
    cosine: float
    coverage: float | None


def test_probability_rises_with_both_signals() -> None:
    model = DEFAULT_ANSWERABILITY
    assert model.probability(0.7, 0.9) > model.probability(0.7, 0.3) > 0
    assert model.probability(0.8, 0.5) > model.probability(0.4, 0.5)
    assert 0.0 < model.probability(-1.0, 0.0) < 0.05 < 0.95 < model.probability(1.0, 1.0) < 1


def test_signals_are_the_best_cosine_and_the_best_coverage() -> None:
    assert signals([_Passage(0.4, 0.9), _Passage(0.7, 0.2)]) == (0.7, 0.9)
    assert signals([_Passage(0.4, None)]) is None
    assert signals([]) is None


def _examples(n: int, seed: int = 1) -> list[AnswerabilityExample]:
    rng = random.Random(seed)
    examples = []
    for i in range(n):
        answerable = i % 4 != 0
        cosine = rng.gauss(0.62 if answerable else 0.45, 0.08)
        coverage = min(1.0, max(0.0, rng.gauss(0.8 if answerable else 0.35, 0.15)))
        examples.append(AnswerabilityExample(cosine, coverage, answerable))
    return examples


def test_fitting_separates_the_labels_and_round_trips(tmp_path) -> None:
    examples = _examples(200)
    model = fit_answerability(examples)
    assert model.cosine_weight > 0 and model.coverage_weight > 0 and model.examples == 200
    right = sum((model.probability(e.cosine, e.coverage) >= 0.5) == e.answerable for e in examples)
    assert right / len(examples) > 0.85
    model.save(tmp_path / ANSWERABILITY_FILE)
    assert read_answerability(tmp_path) == model


def test_fitting_refuses_too_few_or_one_sided_examples() -> None:
    with pytest.raises(TrainingDataError, match="at least 10"):
        fit_answerability(_examples(6))
    one_sided = [AnswerabilityExample(0.6, 0.8, True)] * 20
    with pytest.raises(TrainingDataError, match="answerable and unanswerable"):
        fit_answerability(one_sided)


def test_fitting_refuses_signals_that_point_the_wrong_way() -> None:
    flipped = [
        AnswerabilityExample(e.cosine, 1.0 - e.coverage, e.answerable) for e in _examples(200)
    ]
    with pytest.raises(TrainingDataError, match="negative weight"):
        fit_answerability(flipped)


def test_reading_a_folder_without_a_model_gives_none_and_a_bad_file_fails(tmp_path) -> None:
    assert read_answerability(tmp_path) is None
    (tmp_path / ANSWERABILITY_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="answerability"):
        read_answerability(tmp_path)
    (tmp_path / ANSWERABILITY_FILE).write_text(json.dumps({"cosine_weight": 1}), "utf-8")
    with pytest.raises(ConfigError, match="answerability"):
        read_answerability(tmp_path)


def test_weights_must_be_finite_and_not_negative() -> None:
    with pytest.raises(ConfigError, match="finite"):
        AnswerabilityModel(float("nan"), 1.0, 0.0)
    with pytest.raises(ConfigError, match=">= 0"):
        AnswerabilityModel(-1.0, 1.0, 0.0)


def test_rerank_puts_the_passage_that_holds_the_questions_words_first() -> None:
    close_but_lacking = _Passage(0.45, 0.4)  # "waterproof" jackets for a headlamp question
    holding = _Passage(0.40, 0.95)  # the headlamp's own passage
    unrelated = _Passage(0.10, 0.0)
    ranked = rerank([close_but_lacking, unrelated, holding], DEFAULT_ANSWERABILITY, 2)
    assert ranked == [holding, close_but_lacking]


def test_rerank_keeps_the_fused_order_for_ties_and_without_coverage() -> None:
    first, second = _Passage(0.5, 0.5), _Passage(0.5, 0.5)
    assert rerank([first, second], DEFAULT_ANSWERABILITY, 2)[0] is first
    unmeasured = [_Passage(0.1, None), _Passage(0.9, None)]
    assert rerank(unmeasured, DEFAULT_ANSWERABILITY, 1) == [unmeasured[0]]
