import dataclasses
import logging

import numpy as np
import pytest
import torch

from bot.nlu.calibration import stratified_folds
from bot.nlu.intent_model import FineTuneConfig, IntentModel, IntentModelConfig
from bot.nlu.intent_training import fit
from bot.nlu.label_noise import disputed_labels
from common.errors import ConfigError

FAST = FineTuneConfig(
    epochs=15, batch_size=8, learning_rate=2e-4, calibration_split=0.0, progress=False, seed=1
)
# Two examples planted under the wrong intent; the model must point at both.
PLANTED = {"track my package": "greet", "please refund me": "order_status"}


def test_folds_are_stratified_disjoint_and_cover_every_example():
    labels = [0] * 7 + [1] * 5 + [2] * 2
    folds = stratified_folds(labels, 3, seed=4)
    assert sorted(i for f in folds for i in f) == list(range(len(labels)))
    for fold in folds:
        per_class = [sum(labels[i] == c for i in fold) for c in range(3)]
        assert per_class[0] in (2, 3) and per_class[1] in (1, 2) and per_class[2] <= 1
    assert stratified_folds(labels, 3, seed=4) == folds
    with pytest.raises(ValueError):
        stratified_folds(labels, 1, seed=4)


def test_the_report_lists_disputed_labels_least_supported_first_and_logs_no_text(caplog):
    probabilities = torch.tensor(
        [[0.9, 0.05, 0.05], [0.02, 0.9, 0.08], [0.3, 0.6, 0.1], [0.05, 0.01, 0.94]]
    )
    texts = ["secret one", "secret two", "secret three", "secret four"]
    with caplog.at_level(logging.INFO, logger="bot.nlu.label_noise"):
        report = disputed_labels(probabilities, [0, 0, 0, 1], texts, ["a", "b", "c"], 0.1)
    assert report["checked"] == 4 and report["disputed"] == 2
    # Row 2 disagrees but still gives its label 0.3: not strongly disputed.
    assert [e["index"] for e in report["examples"]] == [3, 1]
    first = report["examples"][0]
    assert first["text"] == "secret four" and first["suggested"] == "c"
    assert first["label"] == "b" and first["label_probability"] == 0.01
    assert "2 of 4" in caplog.text and "secret" not in caplog.text


def test_cv_folds_and_a_split_exclude_each_other():
    with pytest.raises(ConfigError, match="cv_folds"):
        FineTuneConfig(cv_folds=3, calibration_split=0.1)
    with pytest.raises(ConfigError, match="cv_folds"):
        FineTuneConfig(cv_folds=1)
    with pytest.raises(ConfigError, match="label_noise_threshold"):
        IntentModelConfig(label_noise_threshold=0.0)


@pytest.fixture(scope="module")
def noisy_model(tiny_examples):
    texts, labels = tiny_examples
    labels = [PLANTED.get(t, label) for t, label in zip(texts, labels, strict=True)]
    config = IntentModelConfig(
        training=dataclasses.replace(FAST, cv_folds=3),
        ood_quantile=0.1,
        lexical_weight=0.3,
        label_noise_threshold=0.2,
    )
    return fit(texts, labels, config), texts, labels


@pytest.mark.slow
def test_cross_validation_finds_the_planted_mislabelled_examples(noisy_model):
    model, texts, labels = noisy_model
    noise = model.training_report["label_noise"]
    assert noise["checked"] == len(texts)
    found = {e["text"]: e for e in noise["examples"]}
    assert set(PLANTED) <= set(found)
    assert found["track my package"]["suggested"] == "order_status"
    assert found["please refund me"]["suggested"] == "request_refund"
    assert noise["disputed"] <= len(PLANTED) + 1  # few false alarms on the clean rest


@pytest.mark.slow
def test_cross_validation_calibrates_on_out_of_fold_data_and_serves_all_data(noisy_model, tmp_path):
    model, texts, _ = noisy_model
    report = model.training_report
    assert report["calibration"].startswith("cross_validation (3 folds")
    assert report["refit_on_all_data"] is True
    assert model.meta.temperature != 1.0
    # The gate's reference has one out-of-fold similarity per example; its bank is the
    # served model's vectors of every example.
    gate = model.gate
    assert gate is not None and len(gate.reference) == len(texts)
    served = model.outputs(texts)[1].numpy()
    served /= np.linalg.norm(served, axis=1, keepdims=True)
    assert np.allclose(gate.bank, served, atol=1e-5)
    # The lexical expert was calibrated on out-of-fold margins and serves, refit on all.
    lexical = report["lexical_expert"]
    assert lexical is not None and lexical["margin_scale"] > 0
    assert model.lexical is not None and len(model.lexical.pipeline.classes_) == 3
    model.save(tmp_path)
    loaded = IntentModel.load(tmp_path, device="cpu")
    probe = ["where is my order", "hi"]
    assert torch.allclose(loaded.probabilities(probe), model.probabilities(probe), atol=1e-4)
