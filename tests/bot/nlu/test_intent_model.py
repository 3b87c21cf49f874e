import dataclasses
import logging
import subprocess
import sys

import numpy as np
import pytest
import torch

from bot.nlu.calibration import stratified_split
from bot.nlu.intent_model import (
    CONFIG_FILE,
    REMOVED_VOTE_FILE,
    FineTuneConfig,
    IntentModel,
    IntentModelConfig,
)
from bot.nlu.intent_training import fit, fit_gate
from common.errors import ConfigError

FAST = FineTuneConfig(
    epochs=15, batch_size=8, learning_rate=2e-4, calibration_split=0.0, progress=False, seed=1
)


def _config(ood_quantile=0.05, lexical_weight=0.3, **training):
    return IntentModelConfig(
        training=dataclasses.replace(FAST, **training),
        ood_quantile=ood_quantile,
        lexical_weight=lexical_weight,
    )


@pytest.fixture(scope="module")
def fitted(tiny_examples):
    return fit(*tiny_examples, _config())


@pytest.mark.parametrize("module", ["bot.nlu.intent_model", "bot.nlu.intent_classifier"])
def test_serving_imports_no_training_loop(module):
    check = (
        f"import sys; import {module}; "
        "loaded = {'bot.nlu.train_loop', 'bot.nlu.intent_training'} & set(sys.modules); "
        "assert not loaded, loaded"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_config_round_trips_and_is_validated():
    config = _config(ood_quantile=0.1, lexical_weight=0.0, epochs=3, refit=False)
    assert IntentModelConfig.from_dict(config.to_dict()) == config
    assert IntentModelConfig.from_dict({"training": {"epochs": 2}, "stale": 1}).training.epochs == 2
    with pytest.raises(ConfigError, match="ood_quantile"):
        IntentModelConfig(ood_quantile=1.0)
    with pytest.raises(ConfigError, match="lexical_c"):
        IntentModelConfig(lexical_c=0.0)
    with pytest.raises(ConfigError, match="epochs"):
        FineTuneConfig(epochs=0)
    with pytest.raises(ConfigError, match="calibration_split"):
        FineTuneConfig(calibration_split=0.5)


def test_an_unknown_precision_is_rejected():
    with pytest.raises(ConfigError, match="precision"):
        FineTuneConfig(precision="fp16")


@pytest.mark.slow
def test_the_checkpoint_stores_its_config_and_predicts_the_same(fitted, tmp_path):
    fitted.save(tmp_path)
    assert (tmp_path / CONFIG_FILE).is_file()
    loaded = IntentModel.load(tmp_path, device="cpu")
    assert loaded.config == fitted.config == _config()
    texts = ["track my parcel", "hey hey", "money back now"]
    a, b = fitted.predict(texts, top_k=2), loaded.predict(texts, top_k=2)
    assert [[s.name for s in r] for r in a] == [[s.name for s in r] for r in b]
    assert a[0][0].confidence == pytest.approx(b[0][0].confidence, abs=1e-5)


@pytest.mark.slow
def test_a_model_trained_with_the_removed_vote_loads_without_it_and_says_so(
    fitted, tmp_path, caplog
):
    fitted.save(tmp_path)
    (tmp_path / REMOVED_VOTE_FILE).write_text("{}", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="bot.nlu.intent_model"):
        loaded = IntentModel.load(tmp_path, device="cpu")
    assert "nearest-neighbour vote" in caplog.text
    probe = ["track my parcel"]
    assert torch.allclose(loaded.probabilities(probe), fitted.probabilities(probe), atol=1e-5)


@pytest.mark.slow
def test_the_out_of_scope_gate_lowers_strange_messages_and_survives_persistence(
    fitted, tiny_examples, tmp_path
):
    texts, _ = tiny_examples
    # The module's model trains without a calibration split; fit a gate on one intent
    # example in three held out (6 references, so a quantile the gate can act on).
    vectors = fitted.outputs(texts)[1]
    gate = fit_gate(vectors, tuple(range(0, len(texts), 3)), quantile=0.34)
    assert gate is not None and len(gate.reference) == 6
    model = fitted
    model.gate = None
    probe = ["track my package", "the mitochondria is the powerhouse of the cell"]
    plain = model.probabilities(probe).max(dim=1).values
    model.gate = gate
    gated = model.probabilities(probe).max(dim=1).values
    assert gated[0] == pytest.approx(float(plain[0]))  # a training sentence: untouched
    assert gated[1] < plain[1] * 0.9  # unlike anything trained on: scaled down

    model.save(tmp_path)
    model.gate = None  # leave the shared model as the other tests expect it
    loaded = IntentModel.load(tmp_path, device="cpu", ood_quantile=0.34)
    assert loaded.gate is not None
    again = loaded.probabilities(probe).max(dim=1).values
    assert again.tolist() == pytest.approx(gated.tolist(), abs=1e-3)
    switched_off = IntentModel.load(tmp_path, device="cpu", ood_quantile=0.0)
    assert switched_off.probabilities(probe).max(dim=1).values.tolist() == (
        pytest.approx(plain.tolist(), abs=1e-4)
    )


@pytest.mark.slow
def test_a_refit_model_gates_with_every_example_and_the_twins_reference(tiny_examples):
    texts, labels = tiny_examples
    model = fit(
        texts, labels, _config(epochs=6, calibration_split=0.2, ood_quantile=0.2, refit=True)
    )
    report = model.training_report
    assert report["refit_on_all_data"] is True and report["ood_gate"] is True
    gate = model.gate
    assert gate is not None
    assert len(gate.reference) == len(set(labels))  # one held-out example per intent
    # The bank holds the served model's vectors of every example, hold-out included.
    served = model.outputs(texts)[1].numpy()
    served /= np.linalg.norm(served, axis=1, keepdims=True)
    assert gate.bank.shape == served.shape
    assert np.allclose(gate.bank, served, atol=1e-5)


def test_the_lexical_expert_is_calibrated_on_the_hold_out_refit_on_all_and_persisted(
    tiny_examples, tmp_path
):
    texts, labels = tiny_examples
    config = _config(
        epochs=6, calibration_split=0.2, refit=True, lexical_weight=0.4, ood_quantile=0
    )
    model = fit(texts, labels, config)
    report = model.training_report["lexical_expert"]
    assert report["weight"] == 0.4
    assert report["margin_scale"] > 0 and report["blend_temperature"] > 0
    assert 0 <= report["holdout_accuracy_blend"] <= 1
    expert = model.lexical
    assert expert is not None and expert.weight == 0.4
    # The expert that serves was refit on every example, hold-out included.
    words = expert.pipeline.named_steps["features"].transformer_list[0][1]
    analyse = words.build_analyzer()
    names = sorted(set(labels))
    rest, holdout = stratified_split([names.index(x) for x in labels], 0.2, config.training.seed)
    held_out_words = {w for i in holdout for w in analyse(texts[i])}
    only_held_out = held_out_words - {w for i in rest for w in analyse(texts[i])}
    assert only_held_out  # else this check could not tell a refit from the twin
    assert only_held_out <= set(words.vocabulary_)

    probe = ["I'd like a refund for the boots", "track my package", "hello"]
    served = model.probabilities(probe)
    logits = model.outputs(probe)[0]
    plain = torch.softmax(logits / model.meta.temperature, dim=-1)
    expected = torch.softmax(
        expert.combine(logits, model.meta.temperature, expert.scores(probe)), dim=-1
    )
    assert torch.allclose(served, expected, atol=1e-5)
    assert not torch.allclose(served.log(), plain.log(), atol=0.1)  # the expert counts

    model.save(tmp_path)
    loaded = IntentModel.load(tmp_path, device="cpu")
    assert loaded.lexical is not None
    assert torch.allclose(loaded.probabilities(probe), served, atol=1e-4)
    switched_off = IntentModel.load(tmp_path, device="cpu", lexical_weight=0.0)
    assert torch.allclose(switched_off.probabilities(probe), plain, atol=1e-4)


def test_without_a_calibration_split_there_is_no_lexical_expert(fitted):
    assert fitted.lexical is None
    assert fitted.training_report["lexical_expert"] is None
