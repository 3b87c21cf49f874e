"""Size-aware defaults: the intent classifier's recipe, chosen from the data it is trained on.

Companies start with 5 to 30 examples per intent and grow to tens of thousands. One recipe
does not fit both ends: 10% of 15 examples is too few to fit a temperature or an
out-of-scope reference, and five epochs of 13 steps barely move a fresh head. Options of the
component whose value is ``"auto"`` (their default) are chosen here from the data's size;
an explicit value in ``config.yml`` always wins. :func:`resolve` returns the concrete
options and, for the training report, where each value came from.

The rule (every threshold is a named constant below):

- **Epochs.** ``min_steps: auto`` trains ``max(epochs, size_epochs)`` epochs, where
  ``size_epochs`` grows from 5 at 50 examples per intent to 16 at 5
  (``5 * sqrt(50 / per_intent)``), so steps scale with the data instead of a fixed floor
  of steps dominating small sets. A number restores the fixed floor and ``epochs`` as given.
  Under a prototype head (below) at most :data:`PROTOTYPE_MAX_EPOCHS` (8) of them: the head
  starts as a working classifier and needs fewer passes. On Banking77's development split
  8 epochs scored as well as 11 and 16 (10 per intent: 85.3% vs 85.2% and 85.1%; 5 per
  intent: 78.7% vs 78.4% at 16) in half the time or less.
- **Calibration.** Below 30 examples per intent (median) and up to 5,000 examples,
  ``cross_validation``: out-of-fold logits of ``cv_folds`` (3) models fit the temperature,
  the lexical blend and the out-of-scope reference, and every example gets a
  cross-validated confidence for the label-noise report. Above, a 10% ``holdout``.
- **Refit** (hold-out only): on up to 20,000 examples; above, 10% of the data is at least
  2,000 examples and the second training run is not worth its time (not measured).
- **Out-of-scope gate:** ``ood_quantile`` 0.05 when at least 20 calibration examples give
  its reference (a 5% quantile of fewer cannot be resolved), else off.
- **Lexical expert:** ``lexical_weight`` 0.3 (chosen on Banking77 at full size); see
  :data:`SMALL_LEXICAL_WEIGHT` for small data.
- **Head initialisation:** below 30 examples per intent (median), ``head_init:
  prototype``: every fresh head (fold models included) starts as the pretrained encoder's
  nearest-centroid classifier; above, ``random``. Chosen on Banking77 development splits
  (77 intents, docs/benchmarks.md); not measured at full size, so larger data keep the
  random head they were tuned with.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from common.errors import ConfigError

AUTO = "auto"
CALIBRATION_METHODS = ("holdout", "cross_validation", "none")

# Below this median of examples per intent, calibrate by cross-validation ...
CV_BELOW_PER_INTENT = 30
# ... as long as the folds' extra training runs stay cheap.
CV_MAX_EXAMPLES = 5_000
CV_FOLDS = 3
HOLDOUT_SPLIT = 0.1
# Above this many examples a 10% hold-out costs the served model little: no refit.
REFIT_MAX_EXAMPLES = 20_000
# Epochs grow as 5 * sqrt(FULL_PER_INTENT / per_intent), capped at MAX_EPOCHS.
FULL_PER_INTENT = 50
MAX_EPOCHS = 16
# The out-of-scope gate needs this many calibration references (1 / 0.05).
GATE_MIN_REFERENCES = 20
GATE_QUANTILE = 0.05
LEXICAL_WEIGHT = 0.3
SMALL_LEXICAL_WEIGHT = 0.3
# Below this median of examples per intent, start every head from the class prototypes.
PROTOTYPE_BELOW_PER_INTENT = 30
# Under a prototype head, the size rule trains at most this many epochs.
PROTOTYPE_MAX_EPOCHS = 8
HEAD_INITS = ("random", "prototype")

# Options the size rule may choose when they are "auto".
SIZED_OPTIONS = (
    "min_steps",
    "calibration",
    "calibration_split",
    "cv_folds",
    "refit",
    "ood_quantile",
    "lexical_weight",
    "head_init",
)


@dataclass(frozen=True)
class DataSize:
    """How much training data there is.

    Attributes:
        examples: Training examples.
        intents: Distinct intents.
        per_intent: Median examples per intent.
        smallest_intent: Examples of the rarest intent.
    """

    examples: int
    intents: int
    per_intent: float
    smallest_intent: int

    @classmethod
    def of(cls, labels: Sequence[str]) -> DataSize:
        """Measure the labels of a training set.

        Args:
            labels: The intent of every example.

        Returns:
            The size.
        """
        counts = Counter(labels)
        if not counts:
            return cls(0, 0, 0.0, 0)
        return cls(
            examples=len(labels),
            intents=len(counts),
            per_intent=float(statistics.median(counts.values())),
            smallest_intent=min(counts.values()),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the size for the training report."""
        return {
            "examples": self.examples,
            "intents": self.intents,
            "median_per_intent": self.per_intent,
            "smallest_intent": self.smallest_intent,
        }


def size_epochs(size: DataSize) -> int:
    """Epochs the data's size calls for: 5 at 50 examples per intent, more below.

    Args:
        size: The training data's size.

    Returns:
        Epochs, between 5 and :data:`MAX_EPOCHS`.
    """
    per_intent = max(size.per_intent, 1.0)
    epochs = round(5 * math.sqrt(FULL_PER_INTENT / per_intent))
    return max(5, min(MAX_EPOCHS, epochs))


def size_calibration(size: DataSize) -> str:
    """The calibration method for the data's size (see the module docstring)."""
    if size.per_intent < CV_BELOW_PER_INTENT and size.examples <= CV_MAX_EXAMPLES:
        return "cross_validation"
    return "holdout"


def _is_auto(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == AUTO


def _number(name: str, value: Any, kind: type) -> Any:
    """Read an option as ``kind`` (bool is never a number), with a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be 'auto' or a number, got {value!r}")
    if kind is int and float(value) != int(value):
        raise ConfigError(f"{name} must be 'auto' or a whole number, got {value!r}")
    return kind(value)


def validate_sized_options(options: Mapping[str, Any]) -> None:
    """Check the options the size rule may choose, before any data is seen.

    Ranges of numbers are checked by the model's config; this checks types, the
    calibration method and combinations that contradict each other.

    Args:
        options: The component's options.

    Raises:
        ConfigError: For a value of the wrong type or a contradiction.
    """
    epochs = options.get("epochs", 5)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs must be a whole number >= 1, got {epochs!r}")
    method = options.get("calibration", AUTO)
    if not _is_auto(method) and method not in CALIBRATION_METHODS:
        raise ConfigError(
            f"calibration must be 'auto' or one of {', '.join(CALIBRATION_METHODS)}, got {method!r}"
        )
    for name, kind in (
        ("min_steps", int),
        ("cv_folds", int),
        ("calibration_split", float),
        ("ood_quantile", float),
        ("lexical_weight", float),
    ):
        if name in options and not _is_auto(options[name]):
            _number(name, options[name], kind)
    head_init = options.get("head_init", AUTO)
    if not _is_auto(head_init) and head_init not in HEAD_INITS:
        raise ConfigError(
            f"head_init must be 'auto' or one of {', '.join(HEAD_INITS)}, got {head_init!r}"
        )
    refit = options.get("refit", AUTO)
    if not _is_auto(refit) and not isinstance(refit, bool):
        raise ConfigError(f"refit must be 'auto', true or false, got {refit!r}")
    cv_folds = options.get("cv_folds", AUTO)
    if not _is_auto(cv_folds) and not 2 <= int(cv_folds) <= 20:
        raise ConfigError(f"cv_folds must be 'auto' or between 2 and 20, got {cv_folds!r}")
    split = options.get("calibration_split", AUTO)
    if _is_auto(split) or _is_auto(method):
        return
    if method == "holdout" and float(split) <= 0:
        raise ConfigError("calibration: holdout needs calibration_split > 0 (or 'auto')")
    if method != "holdout" and float(split) > 0:
        raise ConfigError(
            f"calibration_split applies to calibration: holdout only, not {method}; "
            "set it to 'auto' or 0"
        )


def resolve(
    options: Mapping[str, Any], size: DataSize
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Replace every ``"auto"`` sized option with the size rule's choice.

    Args:
        options: The component's options (``"auto"`` where the size rule should choose).
        size: The training data's size.

    Returns:
        The options with concrete values (``calibration`` and ``cv_folds`` folded into
        ``calibration_split`` and ``cv_folds``), and per sized option its ``value`` and
        ``source`` (``"config"`` or ``"size rule"``) for the training report.

    Raises:
        ConfigError: For an invalid or contradictory option.
    """
    validate_sized_options(options)
    out = dict(options)
    choices: dict[str, dict[str, Any]] = {}

    def choose(name: str, rule_value: Any) -> Any:
        given = options.get(name, AUTO)
        auto = _is_auto(given)
        value = rule_value if auto else given
        choices[name] = {"value": value, "source": "size rule" if auto else "config"}
        return value

    head_rule = "prototype" if size.per_intent < PROTOTYPE_BELOW_PER_INTENT else "random"
    out["head_init"] = str(choose("head_init", head_rule))
    # Epochs: min_steps auto scales the epochs with the size; a number keeps the old floor.
    if _is_auto(options.get("min_steps", AUTO)):
        wanted = size_epochs(size)
        if out["head_init"] == "prototype":
            wanted = min(wanted, PROTOTYPE_MAX_EPOCHS)
        epochs = max(int(options.get("epochs", 5)), wanted)
        out["epochs"], out["min_steps"] = epochs, 0
        choices["epochs"] = {"value": epochs, "source": "size rule (min_steps: auto)"}
        choices["min_steps"] = {"value": 0, "source": "size rule"}
    else:
        out["min_steps"] = choose("min_steps", 0)
        choices["epochs"] = {"value": out.get("epochs", 5), "source": "config"}

    split_given = options.get("calibration_split", AUTO)
    if _is_auto(options.get("calibration", AUTO)) and not _is_auto(split_given):
        # An explicit split says what the method is: a hold-out, or none at all.
        method = choose("calibration", "holdout" if float(split_given) > 0 else "none")
        choices["calibration"]["source"] = "config (calibration_split)"
    else:
        method = choose("calibration", size_calibration(size))
    if method == "cross_validation":
        folds = int(choose("cv_folds", CV_FOLDS))
        out["calibration_split"], out["cv_folds"] = 0.0, folds
        choices["calibration_split"] = {"value": 0.0, "source": "size rule"}
        references = size.examples
    else:
        split = float(choose("calibration_split", HOLDOUT_SPLIT if method == "holdout" else 0))
        out["calibration_split"], out["cv_folds"] = split, 0
        references = round(size.examples * split)
    refit_rule = method == "holdout" and size.examples <= REFIT_MAX_EXAMPLES
    out["refit"] = bool(choose("refit", refit_rule))
    gate_rule = GATE_QUANTILE if references >= GATE_MIN_REFERENCES else 0.0
    out["ood_quantile"] = float(choose("ood_quantile", gate_rule))
    if method == "cross_validation":
        choices["refit"]["note"] = "cross-validation trains the served model on every example"
    # Without calibration there is nothing to fit the lexical blend on: off.
    lexical_rule = {"cross_validation": SMALL_LEXICAL_WEIGHT, "holdout": LEXICAL_WEIGHT}
    out["lexical_weight"] = float(choose("lexical_weight", lexical_rule.get(method, 0.0)))
    out.pop("calibration", None)
    return out, choices
