"""Training the tagger: a short run learns to find a lower-case name in an unseen sentence."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from common.errors import TrainingDataError
from training.pii_ner.train import TrainConfig, load_annotated, train


def test_annotated_sets_keep_names_and_addresses_only(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    record = {
        "text": "I'm Ana, ana@example.com, 5 Mill Lane",
        "spans": [
            {"start": 4, "end": 7, "type": "PERSON"},
            {"start": 9, "end": 24, "type": "EMAIL"},
            {"start": 26, "end": 37, "type": "ADDRESS"},
        ],
    }
    path.write_text(json.dumps(record) + "\n\n", encoding="utf-8")
    (example,) = load_annotated(path)
    assert example.spans == ((4, 7, "PERSON"), (26, 37, "ADDRESS"))
    path.write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(TrainingDataError, match="line 1"):
        load_annotated(path)


@pytest.mark.slow
def test_short_training_finds_a_lower_case_name_in_an_unseen_template(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from common.privacy.tagger import MiniLMNameFinder

    config = TrainConfig(
        seed=3,
        generated=1200,
        annotated=(),
        epochs=1,
        batch_size=16,
        learning_rate=3e-4,
        layers=2,
        frozen_layers=0,
    )
    with caplog.at_level(logging.DEBUG):
        report = train(config, tmp_path / "tagger")
    assert report.steps == 75
    assert json.loads((tmp_path / "tagger" / "pii_ner.json").read_text())["steps"] == 75
    # No template holds this sentence (its shape is new; "cheers" + name is seen).
    text = "ok that's sorted now, cheers kwabena"
    finder = MiniLMNameFinder(tmp_path / "tagger")
    (found,) = finder.find_many([text])
    assert [(text[d.start : d.end], d.type) for d in found] == [("kwabena", "PERSON")]
    assert "kwabena" not in caplog.text
