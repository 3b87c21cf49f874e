"""The evaluation command line: classifier option overrides."""

from __future__ import annotations

import pytest

from training.evaluate.__main__ import build_parser


def test_options_are_read_as_yaml_and_repeatable() -> None:
    args = build_parser().parse_args(
        [
            "intents",
            "--train",
            "t.csv",
            "--test",
            "s.csv",
            "--option",
            "calibration_split=0",
            "--option",
            "learning_rate=5e-5",
            "--option",
            "device=cpu",
        ]
    )
    assert dict(args.option) == {"calibration_split": 0, "learning_rate": 5e-5, "device": "cpu"}


@pytest.mark.parametrize("bad", ["calibration_split", "=3"])
def test_an_option_without_key_and_value_is_refused(bad: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["intents", "--train", "t", "--test", "s", "--option", bad])
