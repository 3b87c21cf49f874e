"""Relevance: the calibrated question-answer score and fitting its calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.knowledge.relevance import (
    DEFAULT_INTERCEPT,
    DEFAULT_SLOPE,
    RelevanceCalibration,
    RelevanceExample,
    RelevanceScorer,
    calibration_examples_from_pairs,
    fit_relevance_calibration,
    platt_fit,
)
from common.errors import ConfigError, TrainingDataError
from tests.support.generation import SAMPLE_PAIRS, HashingEmbedder


def test_default_calibration_is_documented_and_monotone():
    calibration = RelevanceCalibration()
    assert (calibration.slope, calibration.intercept) == (DEFAULT_SLOPE, DEFAULT_INTERCEPT)
    assert calibration.probability(calibration.midpoint) == pytest.approx(0.5)
    assert calibration.probability(0.05) < 0.1 < 0.9 < calibration.probability(0.5)
    assert 0.0 <= calibration.probability(-1e6) <= calibration.probability(1e6) <= 1.0


def test_platt_fit_recovers_known_parameters():
    rng = np.random.default_rng(0)
    scores = rng.uniform(-0.2, 0.8, 20000)
    labels = rng.random(20000) < 1 / (1 + np.exp(-(12.0 * scores - 3.0)))
    slope, intercept = platt_fit(scores, labels.astype(float))
    assert slope == pytest.approx(12.0, rel=0.1)
    assert intercept == pytest.approx(-3.0, rel=0.1)


def test_platt_fit_stays_finite_on_separable_data():
    slope, intercept = platt_fit(np.array([0.0, 0.1, 0.6, 0.7]), np.array([0, 0, 1, 1]))
    assert math.isfinite(slope) and math.isfinite(intercept) and slope > 0
    assert 0.1 < -intercept / slope < 0.6


def examples() -> list[RelevanceExample]:
    return [
        RelevanceExample("is the tent waterproof", "the tent is waterproof to 3000 mm", True),
        RelevanceExample("do you ship to canada", "we ship to canada in 10 days", True),
        RelevanceExample("how do I wash down", "wash down on a cold gentle cycle", True),
        RelevanceExample("is the tent waterproof", "we ship to canada in 10 days", False),
        RelevanceExample("do you ship to canada", "wash down on a cold gentle cycle", False),
        RelevanceExample("how do I wash down", "the tent is waterproof to 3000 mm", False),
    ]


def test_fit_separates_relevant_from_irrelevant():
    calibration = fit_relevance_calibration(examples(), HashingEmbedder())
    assert calibration.examples == 6 and calibration.slope > 0
    scorer = RelevanceScorer(HashingEmbedder(), calibration)
    assert scorer.score("is the tent waterproof", "the tent is waterproof").probability > 0.5
    assert scorer.score("is the tent waterproof", "we ship to canada").probability < 0.5


def test_fit_needs_both_labels():
    only_relevant = [e for e in examples() if e.relevant]
    with pytest.raises(TrainingDataError):
        fit_relevance_calibration(only_relevant, HashingEmbedder())


def test_calibration_round_trips_through_json(tmp_path):
    path = tmp_path / "relevance_calibration.json"
    calibration = RelevanceCalibration(12.5, -3.25, 40)
    calibration.save(path)
    assert RelevanceCalibration.load(path) == calibration


@pytest.mark.parametrize(
    "content", [None, "not json", '{"slope": 1}', '{"slope": -1, "intercept": 0, "examples": 1}']
)
def test_a_bad_calibration_file_is_a_config_error(tmp_path, content):
    path = tmp_path / "relevance_calibration.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError):
        RelevanceCalibration.load(path)


def test_examples_from_pairs_use_replies_of_other_intents_as_negatives():
    built = calibration_examples_from_pairs(SAMPLE_PAIRS, seed=1)
    intent_of_reply = {p.agent: p.intent for p in SAMPLE_PAIRS}
    intent_of_question = {p.customer: p.intent for p in SAMPLE_PAIRS}
    positives = [e for e in built if e.relevant]
    negatives = [e for e in built if not e.relevant]
    assert len(positives) == len(negatives) == len(SAMPLE_PAIRS)
    assert all(intent_of_reply[e.answer] != intent_of_question[e.question] for e in negatives)
    assert calibration_examples_from_pairs(SAMPLE_PAIRS, seed=1) == built
