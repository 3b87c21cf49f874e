import dataclasses

import pytest
import torch

from bot.nlu.lexical import LEXICAL_FILE, LEXICAL_MODEL_FILE, LexicalExpert, calibrate_blend
from common.errors import ConfigError, TrainingDataError

TEXTS = [
    "where is my parcel",
    "track my parcel please",
    "has my parcel shipped",
    "parcel tracking number",
    "refund my boots",
    "I want a refund",
    "refund the jacket please",
    "money back refund now",
    "reset my password",
    "forgot my password",
    "password reset link broken",
    "cannot log in password",
]
LABELS = [0] * 4 + [1] * 4 + [2] * 4


def _expert(weight: float = 0.3, num_labels: int = 3) -> LexicalExpert:
    return LexicalExpert.train(TEXTS, LABELS, num_labels, weight, c=1.0, seed=0)


def test_scores_follow_the_words_and_are_repeatable():
    expert = _expert()
    scores = expert.scores(["parcel?", "a refund for my coat", "password please"])
    assert scores.shape == (3, 3)
    assert scores.argmax(dim=1).tolist() == [0, 1, 2]
    assert torch.equal(
        scores, _expert().scores(["parcel?", "a refund for my coat", "password please"])
    )
    assert expert.scores([]).shape == (0, 3)


def test_two_intents_give_opposite_margins_and_absent_intents_score_lowest():
    texts, labels = TEXTS[:8], LABELS[:8]
    expert = LexicalExpert.train(texts, labels, num_labels=4, weight=0.3)
    scores = expert.scores(["track my parcel", "refund please"])
    assert scores.shape == (2, 4)
    assert torch.allclose(scores[:, 0], -scores[:, 1])
    assert scores.argmax(dim=1).tolist() == [0, 1]
    # Intents 2 and 3 had no examples: far below any margin the SVM gives.
    assert (scores[:, 2:] < scores[:, :2].min() - 5).all()


def test_combine_adds_scaled_margins_to_tempered_logits_then_calibrates():
    expert = dataclasses.replace(_expert(weight=0.25), scale=4.0, temperature=2.0)
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    scores = torch.tensor([[-0.5, 1.0, 0.0]])
    combined = expert.combine(logits, temperature=0.5, scores=scores)
    expected = (0.75 * logits / 0.5 + 0.25 * 4.0 * scores) / 2.0
    assert torch.allclose(combined, expected)


def test_blend_can_overrule_a_narrow_transformer_and_weight_zero_is_the_softmax():
    text = ["refund the jacket"]
    logits = torch.tensor([[0.3, 0.0, 0.0]])  # the transformer barely prefers intent 0
    expert = dataclasses.replace(_expert(weight=0.5), scale=5.0)
    blended = expert.blend(logits, 1.0, text)
    assert blended.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert blended.argmax().item() == 1
    off = dataclasses.replace(expert, weight=0.0)
    assert not off.active
    assert torch.allclose(off.blend(logits, 0.5, text), torch.softmax(logits / 0.5, dim=-1))


def test_calibration_fits_a_positive_scale_and_does_not_raise_the_held_out_loss():
    expert = _expert()
    held_texts = ["where's my parcel", "refund please", "password help", "parcel refund?"]
    targets = torch.tensor([0, 1, 2, 1])
    # A transformer that is right but unsure on the first three and wrong on the last.
    logits = torch.tensor([[1.0, 0.5, 0.0], [0.2, 0.9, 0.1], [0.0, 0.1, 1.2], [1.5, 0.2, 0.0]])
    calibrated = calibrate_blend(expert, logits, 1.0, held_texts, targets)
    assert calibrated.scale > 0 and calibrated.temperature > 0
    assert calibrated.pipeline is expert.pipeline and calibrated.weight == expert.weight
    nll = torch.nn.functional.cross_entropy
    scores = calibrated.scores(held_texts)
    fitted = nll(calibrated.combine(logits, 1.0, scores), targets)
    unfitted = nll(
        dataclasses.replace(calibrated, temperature=1.0).combine(logits, 1.0, scores), targets
    )
    assert fitted.item() <= unfitted.item() + 1e-6


def test_save_and_load_round_trip_with_an_overridden_weight(tmp_path):
    expert = dataclasses.replace(_expert(weight=0.3), scale=3.0, temperature=1.5)
    expert.save(tmp_path)
    assert (tmp_path / LEXICAL_FILE).is_file() and (tmp_path / LEXICAL_MODEL_FILE).is_file()
    loaded = LexicalExpert.load(tmp_path)
    assert loaded is not None
    assert (loaded.weight, loaded.scale, loaded.temperature, loaded.num_labels) == (
        0.3,
        3.0,
        1.5,
        3,
    )
    probe = ["my parcel is late", "password?"]
    assert torch.equal(loaded.scores(probe), expert.scores(probe))
    off = LexicalExpert.load(tmp_path, weight=0.0)
    assert off is not None and not off.active
    assert LexicalExpert.load(tmp_path / "missing") is None


def test_bad_settings_and_data_are_clear_errors():
    with pytest.raises(ConfigError, match="weight"):
        _expert(weight=1.0)
    with pytest.raises(ConfigError, match="scale"):
        dataclasses.replace(_expert(), scale=0.0)
    with pytest.raises(TrainingDataError, match="two intents"):
        LexicalExpert.train(["a", "b"], [0, 0], 2, 0.3)
    with pytest.raises(TrainingDataError, match="labels"):
        LexicalExpert.train(["a", "b"], [0], 2, 0.3)
