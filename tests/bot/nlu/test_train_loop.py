import pytest
import torch

from bot.nlu.intent_model import FineTuneConfig
from bot.nlu.train_loop import fine_tune
from common.errors import ConfigError, TrainingDataError


def test_fine_tune_rejects_a_single_intent():
    with pytest.raises(TrainingDataError, match="two intents"):
        fine_tune(["a", "b"], ["x", "x"], FineTuneConfig(progress=False))


def test_fine_tune_rejects_mismatched_inputs():
    with pytest.raises(TrainingDataError, match="labels"):
        fine_tune(["a", "b"], ["x"], FineTuneConfig(progress=False))


def _tiny_config(**overrides: object) -> FineTuneConfig:
    """A short run on the tiny intents: batch 8, lr 2e-4, no calibration split."""
    values: dict[str, object] = {
        "batch_size": 8,
        "learning_rate": 2e-4,
        "calibration_split": 0.0,
        "progress": False,
    }
    return FineTuneConfig(**{**values, **overrides})  # type: ignore[arg-type]


@pytest.mark.slow
def test_fine_tune_learns_and_is_deterministic(tiny_examples):
    texts, labels = tiny_examples
    config = _tiny_config(epochs=12, seed=3)
    first = fine_tune(texts, labels, config)
    second = fine_tune(texts, labels, config)
    a, b = first.model.state_dict(), second.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert first.losses[-1] < first.losses[0]
    other = fine_tune(texts, labels, FineTuneConfig(**{**config.__dict__, "seed": 4}))
    assert not torch.equal(a["head.weight"], other.model.state_dict()["head.weight"])


@pytest.mark.slow
def test_refit_trains_the_final_model_on_everything_with_the_twins_temperature(tiny_examples):
    texts, labels = tiny_examples
    config = _tiny_config(epochs=6, seed=5, calibration_split=0.2)
    refit = fine_tune(texts, labels, config)
    twin_only = fine_tune(
        texts, labels, _tiny_config(epochs=6, seed=5, calibration_split=0.2, refit=False)
    )
    on_all = fine_tune(texts, labels, _tiny_config(epochs=6, seed=5))
    assert len(refit.holdout_indices) == len(set(labels))  # one example per intent held out
    assert twin_only.calibration_model is None and on_all.calibration_model is None
    assert refit.calibration_model is not None

    def same(x: torch.nn.Module, y: torch.nn.Module) -> bool:
        a, b = x.state_dict(), y.state_dict()
        return all(torch.equal(a[k], b[k]) for k in a)

    # The served model is exactly the one trained on every example ...
    assert same(refit.model, on_all.model)
    # ... calibrated by the twin that never saw the hold-out.
    assert same(refit.calibration_model, twin_only.model)
    assert not same(refit.model, twin_only.model)
    assert refit.meta.temperature == twin_only.meta.temperature != 1.0
    assert refit.holdout_accuracy == twin_only.holdout_accuracy
    assert refit.steps > twin_only.steps


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fp32", "bf16"])
def test_fine_tune_learns_in_both_precisions_and_keeps_fp32_weights(tiny_examples, name):
    texts, labels = tiny_examples
    config = _tiny_config(epochs=8, precision=name)
    result = fine_tune(texts, labels, config)
    assert result.precision == name
    assert result.losses[-1] < result.losses[0]
    assert {p.dtype for p in result.model.parameters()} == {torch.float32}


def test_prototype_head_starts_as_a_nearest_centroid_classifier(tiny_examples):
    from bot.nlu.batching import predict_outputs, tokenize
    from bot.nlu.encoder import load_pretrained
    from bot.nlu.train_loop import PROTOTYPE_SCALE, init_head_from_prototypes
    from common.pretrained import minilm_path

    texts, labels = tiny_examples
    names = sorted(set(labels))
    targets = torch.tensor([names.index(label) for label in labels])
    model, tokenizer = load_pretrained(minilm_path(), len(names), 0.1)
    encoded = tokenize(tokenizer, texts, 64)
    device = torch.device("cpu")
    random_logits, vectors = predict_outputs(model, encoded, 0, device)
    init_head_from_prototypes(model, encoded, targets, 0, device)
    logits, _ = predict_outputs(model, encoded, 0, device)
    unit = torch.nn.functional.normalize(vectors, dim=1)
    centroids = torch.stack([unit[targets == i].mean(0) for i in range(len(names))])
    cosines = unit @ torch.nn.functional.normalize(centroids, dim=1).T
    # The head ranks intents exactly as the cosine to each intent's centroid does...
    assert torch.equal(logits.argmax(1), cosines.argmax(1))
    assert (logits.argmax(1) == targets).float().mean() > 0.9
    assert (random_logits.argmax(1) == targets).float().mean() < 0.9
    # ... with logits of about PROTOTYPE_SCALE times that cosine.
    ratio = logits / (cosines * vectors.norm(dim=1, keepdim=True) / vectors.norm(dim=1).mean())
    assert torch.allclose(ratio, torch.full_like(ratio, PROTOTYPE_SCALE), rtol=1e-3)
    assert torch.count_nonzero(model.head.bias) == 0


def test_head_init_is_validated():
    with pytest.raises(ConfigError, match="head_init"):
        FineTuneConfig(head_init="zeros")
