"""`training.evaluate responses` end to end with a tiny random model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.nlg.generation import checkpoint
from bot.nlg.generation.fine_tune import GenerationTrainConfig
from common.errors import TrainingDataError
from training.evaluate.__main__ import main
from training.evaluate.responses import ResponseEvalConfig, bitext_pairs, evaluate_responses

QUESTIONS = {
    "return": ("How do I return my boots?", "You can return unworn gear within 60 days."),
    "ship": ("Do you ship to Canada?", "Yes, we ship to Canada in 5 to 8 working days."),
    "tent": ("Does the tent include a footprint?", "The Ridge 2 tent comes without one."),
    "pay": ("Can I pay with PayPal?", "Yes, PayPal and all major cards work at checkout."),
}


def _pairs_file(path: Path) -> Path:
    lines = []
    for i in range(12):
        for key, (question, answer) in QUESTIONS.items():
            lines.append(
                json.dumps(
                    {
                        "conversation_id": f"{key}-{i}",
                        "channel": "web",
                        "context": [],
                        "customer": f"{question} ({i})",
                        "agent": answer,
                        "intent": key,
                    }
                )
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_three_systems_are_scored_side_by_side(tmp_path: Path) -> None:
    config = ResponseEvalConfig(
        pairs=_pairs_file(tmp_path / "pairs.jsonl"),
        test_fraction=0.25,
        max_test=6,
        train=GenerationTrainConfig(
            base_model="tiny-random", max_steps=2, batch_size=4, progress=False
        ),
        max_new_tokens=8,
        save_model=tmp_path / "kept" / "generator",
        out_json=tmp_path / "responses.json",
        out_markdown=tmp_path / "responses.md",
    )
    report = evaluate_responses(config)
    assert set(report["systems"]) == {"retrieval", "base", "fine-tuned"}
    assert report["test_pairs"] == 6
    # Every held-back question has a near-identical training question, so retrieval
    # finds the exact reference reply.
    assert report["systems"]["retrieval"]["raw"]["rouge_l"] == pytest.approx(100.0)
    # What is sent never leaks, whatever the tiny random model wrote.
    for system in report["systems"].values():
        assert system["sent"]["leak_rate"] == 0.0
        assert set(system["sent"]["length_compliance"]) == {"web", "slack", "telegram", "email"}
    assert report["systems"]["fine-tuned"]["ms_per_token_p50"] > 0
    saved = json.loads((tmp_path / "responses.json").read_text())
    assert saved["train_pairs"] == report["train_pairs"]
    assert "fine-tuned minus retrieval" in (tmp_path / "responses.md").read_text()
    # The fine-tuned generator is kept as a checkpoint that loads back.
    kept = checkpoint.read_meta(tmp_path / "kept" / "generator")
    assert kept["report"]["steps"] == 2
    assert kept["report"]["precision"] in {"fp32", "bf16"}
    assert checkpoint.load(tmp_path / "kept" / "generator").index is not None


def test_bitext_csv_becomes_single_turn_pairs(tmp_path: Path) -> None:
    csv = tmp_path / "bitext.csv"
    csv.write_text(
        'instruction,intent,response\n"where is my order",track_order,"It is on its way."\n'
    )
    (pair,) = bitext_pairs(csv)
    assert (pair.customer, pair.agent, pair.intent) == (
        "where is my order",
        "It is on its way.",
        "track_order",
    )


def test_cli_rejects_missing_columns(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("question,answer\nhi,hello\n")
    assert main(["responses", "--pairs", str(csv), "--out", str(tmp_path / "r.json")]) == 2


@pytest.mark.slow
def test_a_kept_generator_is_scored_on_a_disjoint_draw_without_retraining(tmp_path: Path) -> None:
    pairs = _pairs_file(tmp_path / "pairs.jsonl")
    common = {
        "pairs": pairs,
        "test_fraction": 0.5,
        "max_test": 4,
        "systems": ("retrieval", "fine-tuned"),
        "train": GenerationTrainConfig(
            base_model="tiny-random", max_steps=1, batch_size=4, progress=False
        ),
        "max_new_tokens": 4,
    }
    first = evaluate_responses(
        ResponseEvalConfig(
            **common,
            save_model=tmp_path / "kept",
            out_json=tmp_path / "first.json",
            out_markdown=tmp_path / "first.md",
        )
    )
    second = evaluate_responses(
        ResponseEvalConfig(
            **common,
            test_offset=4,
            model=tmp_path / "kept",
            repetition_penalty=1.0,
            num_beams=2,
            out_json=tmp_path / "second.json",
            out_markdown=tmp_path / "second.md",
        )
    )
    assert second["model"] == str(tmp_path / "kept")
    assert second["train_report"]["steps"] == first["train_report"]["steps"] == 1
    assert second["repetition_penalty"] == 1.0
    assert first["repetition_penalty"] != 1.0
    assert (second["num_beams"], first["num_beams"]) == (2, 1)
    assert second["test_pairs"] == 4
    customers = [
        {example["customer"] for example in report["examples"]} for report in (first, second)
    ]
    assert not customers[0] & customers[1]
    assert "kept model" in (tmp_path / "second.md").read_text()
    assert "beams 2" in (tmp_path / "second.md").read_text()
    with pytest.raises(TrainingDataError, match="num_beams"):
        evaluate_responses(
            ResponseEvalConfig(**common, model=tmp_path / "kept", num_beams=0, test_offset=4)
        )


def test_a_kept_generator_trained_on_the_held_back_pairs_is_refused(tmp_path: Path) -> None:
    pairs = _pairs_file(tmp_path / "pairs.jsonl")
    train = GenerationTrainConfig(
        base_model="tiny-random", max_steps=1, batch_size=4, progress=False
    )
    evaluate_responses(
        ResponseEvalConfig(
            pairs=pairs,
            test_fraction=0.25,
            max_test=2,
            systems=("retrieval",),
            train=train,
            save_model=tmp_path / "kept",
            out_json=tmp_path / "a.json",
            out_markdown=tmp_path / "a.md",
        )
    )
    with pytest.raises(TrainingDataError, match="held-back"):
        evaluate_responses(
            ResponseEvalConfig(
                pairs=pairs,
                test_fraction=0.25,
                max_test=2,
                seed=7,  # another split: the model has seen some of its held-back pairs
                systems=("retrieval",),
                train=train,
                model=tmp_path / "kept",
                out_json=tmp_path / "b.json",
                out_markdown=tmp_path / "b.md",
            )
        )
