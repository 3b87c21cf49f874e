"""Generation pairs: reading, validation errors with line numbers, fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.nlg.generation.pairs import (
    GenerationPair,
    Turn,
    file_fingerprint,
    pair_from_dict,
    read_pairs,
    write_pairs,
)
from common.errors import TrainingDataError

ROOT = Path(__file__).resolve().parents[4]


def test_round_trip(tmp_path: Path) -> None:
    pair = GenerationPair(
        "c1",
        "web",
        (Turn("customer", "hi"), Turn("agent", "Hello")),
        "is it waterproof?",
        "Yes.",
        "product_question",
    )
    path = tmp_path / "pairs.jsonl"
    write_pairs([pair, pair], path)
    assert read_pairs(path) == [pair, pair]


def test_bad_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    good = json.dumps({"conversation_id": "a", "customer": "q", "agent": "a"})
    path.write_text(good + "\n\n" + json.dumps({"conversation_id": "b", "customer": "q"}) + "\n")
    with pytest.raises(TrainingDataError, match=r"pairs.jsonl:3: 'agent'"):
        read_pairs(path)


@pytest.mark.parametrize(
    "data",
    [
        {
            "conversation_id": "a",
            "customer": "q",
            "agent": "a",
            "context": [{"role": "bot", "text": "x"}],
        },
        {"conversation_id": "a", "customer": "q", "agent": "a", "channel": 3},
        {"conversation_id": None, "customer": "q", "agent": "a"},
        {"conversation_id": "a", "customer": " ", "agent": "a"},
    ],
)
def test_invalid_pairs_are_rejected(data: dict) -> None:
    with pytest.raises(TrainingDataError):
        pair_from_dict(data)


def test_not_json_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("{not json\n")
    with pytest.raises(TrainingDataError, match="p.jsonl:1: not valid JSON"):
        read_pairs(path)


def test_fingerprint_follows_content(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    assert file_fingerprint(path) == "missing"
    path.write_text("a")
    first = file_fingerprint(path)
    path.write_text("b")
    assert file_fingerprint(path) != first


def test_sample_company_pairs_are_valid() -> None:
    pairs = read_pairs(ROOT / "data" / "generation" / "pairs.jsonl")
    assert 200 <= len(pairs) <= 400
    assert len({p.conversation_id for p in pairs}) == len(pairs)
    intents = {p.intent for p in pairs}
    assert {"product_question", "shipping_options", "return_item"} <= intents
