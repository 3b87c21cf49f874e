import pytest

from bot.nlu.sizing import (
    AUTO,
    CV_FOLDS,
    PROTOTYPE_MAX_EPOCHS,
    DataSize,
    resolve,
    size_calibration,
    size_epochs,
    validate_sized_options,
)
from common.errors import ConfigError

AUTOS = {
    "epochs": 5,
    "min_steps": AUTO,
    "calibration": AUTO,
    "calibration_split": AUTO,
    "cv_folds": AUTO,
    "refit": AUTO,
    "ood_quantile": AUTO,
    "lexical_weight": AUTO,
    "head_init": AUTO,
}


def _size(per_intent: int, intents: int = 77) -> DataSize:
    return DataSize.of([f"i{i}" for i in range(intents) for _ in range(per_intent)])


def test_data_size_is_measured_from_the_labels():
    size = DataSize.of(["a"] * 5 + ["b"] * 9 + ["c"] * 20)
    assert (size.examples, size.intents, size.per_intent, size.smallest_intent) == (34, 3, 9, 5)
    assert DataSize.of([]).examples == 0


@pytest.mark.parametrize(
    ("per_intent", "epochs"), [(5, 16), (10, 11), (20, 8), (40, 6), (50, 5), (130, 5)]
)
def test_epochs_grow_as_the_data_shrinks_and_never_fall_below_five(per_intent, epochs):
    assert size_epochs(_size(per_intent)) == epochs


def test_few_shot_data_is_calibrated_by_cross_validation_and_trains_longer():
    options, choices = resolve(AUTOS, _size(10))  # Banking77 10-shot: 770 examples
    assert options["cv_folds"] == CV_FOLDS and options["calibration_split"] == 0.0
    # The size rule asks for 11 epochs; a prototype head needs at most 8.
    assert options["epochs"] == PROTOTYPE_MAX_EPOCHS == 8 and options["min_steps"] == 0
    assert options["ood_quantile"] == 0.05  # every example is a reference
    assert options["lexical_weight"] > 0
    assert "calibration" not in options
    assert choices["calibration"] == {"value": "cross_validation", "source": "size rule"}
    assert choices["epochs"]["source"].startswith("size rule")
    assert choices["head_init"] == {"value": "prototype", "source": "size rule"}


def test_large_data_keeps_the_full_size_recipe():
    options, choices = resolve(AUTOS, _size(130))  # Banking77 full: 10,010 examples
    assert options["cv_folds"] == 0 and options["calibration_split"] == 0.1
    assert options["refit"] is True and options["epochs"] == 5
    assert (options["ood_quantile"], options["lexical_weight"]) == (0.05, 0.3)
    assert options["head_init"] == "random"
    huge, _ = resolve(AUTOS, _size(1300))  # 100,100 examples: no second run
    assert huge["refit"] is False and huge["cv_folds"] == 0


def test_many_examples_with_few_per_intent_use_a_hold_out():
    assert size_calibration(_size(20, intents=400)) == "holdout"  # 8,000 examples
    assert size_calibration(_size(20, intents=100)) == "cross_validation"


def test_the_gate_is_off_when_too_few_references_would_calibrate_it():
    options, _ = resolve({**AUTOS, "calibration": "holdout"}, _size(40, intents=3))
    assert options["calibration_split"] == 0.1  # 12 held out of 120
    assert options["ood_quantile"] == 0.0


def test_explicit_options_override_the_size_rule():
    given = {
        **AUTOS,
        "epochs": 3,
        "min_steps": 40,
        "calibration": "holdout",
        "calibration_split": 0.2,
        "refit": False,
        "ood_quantile": 0.1,
        "lexical_weight": 0.0,
        "head_init": "random",
    }
    options, choices = resolve(given, _size(5))
    assert options["epochs"] == 3 and options["min_steps"] == 40
    assert options["calibration_split"] == 0.2 and options["cv_folds"] == 0
    assert options["refit"] is False
    assert (options["ood_quantile"], options["lexical_weight"]) == (0.1, 0.0)
    assert options["head_init"] == "random"
    assert all(c["source"] == "config" for k, c in choices.items() if k != "cv_folds")
    folds, _ = resolve({**AUTOS, "cv_folds": 5}, _size(5))
    assert folds["cv_folds"] == 5


def test_an_explicit_split_alone_says_hold_out_or_none():
    held, choices = resolve({**AUTOS, "calibration_split": 0.1}, _size(5))
    assert held["cv_folds"] == 0 and held["calibration_split"] == 0.1
    assert choices["calibration"]["value"] == "holdout"
    none, _ = resolve({**AUTOS, "calibration_split": 0.0}, _size(5))
    assert none["cv_folds"] == 0 and none["ood_quantile"] == 0 and none["lexical_weight"] == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"calibration": "k-fold"}, "calibration must be"),
        ({"cv_folds": 1}, "cv_folds"),
        ({"cv_folds": 2.5}, "cv_folds"),
        ({"cv_folds": "three"}, "cv_folds"),
        ({"refit": "yes"}, "refit"),
        ({"min_steps": "many"}, "min_steps"),
        ({"ood_quantile": True}, "ood_quantile"),
        ({"lexical_weight": "high"}, "lexical_weight"),
        ({"epochs": 0}, "epochs"),
        ({"calibration": "holdout", "calibration_split": 0}, "holdout needs"),
        ({"calibration": "cross_validation", "calibration_split": 0.1}, "holdout only"),
    ],
)
def test_bad_sized_options_are_clear_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        validate_sized_options({**AUTOS, **options})


def test_head_init_is_checked():
    with pytest.raises(ConfigError, match="head_init"):
        validate_sized_options({**AUTOS, "head_init": "zeros"})
    options, _ = resolve({**AUTOS, "head_init": "prototype"}, _size(130))
    assert options["head_init"] == "prototype"


def test_a_random_head_on_few_shot_data_keeps_the_full_epochs():
    options, choices = resolve({**AUTOS, "head_init": "random"}, _size(5))
    assert options["epochs"] == 16
    assert choices["head_init"] == {"value": "random", "source": "config"}
    prototype, _ = resolve(AUTOS, _size(5))
    assert prototype["epochs"] == PROTOTYPE_MAX_EPOCHS


def test_a_prototype_head_on_large_data_keeps_its_fewer_epochs():
    # A forced prototype head never raises the epochs; the size rule's own 5 stay.
    options, _ = resolve({**AUTOS, "head_init": "prototype"}, _size(130))
    assert options["epochs"] == 5
    options, _ = resolve({**AUTOS, "head_init": "prototype", "epochs": 12}, _size(130))
    assert options["epochs"] == 12  # an explicit floor still wins
