import pytest
import torch

from bot.nlu.intent_model import FineTuneConfig
from bot.nlu.train_loop import fine_tune
from common.errors import TrainingDataError


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
