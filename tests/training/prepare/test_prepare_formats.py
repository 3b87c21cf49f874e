"""Each ingest format end to end through prepare, from the ingest fixtures."""

import json
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from tests.training.prepare.conftest import INGEST_FIXTURES


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _intents(out: Path) -> dict[str, list[str]]:
    data = RasaYAMLReader().reads((out / "nlu" / "prepared.yml").read_text(encoding="utf-8"))
    result: dict[str, list[str]] = {}
    for message in data.intent_examples:
        result.setdefault(message.get("intent"), []).append(message.get("text"))
    return result


@pytest.mark.parametrize(
    ("name", "fmt", "intents", "pair", "openers", "channel"),
    [
        (
            "conversations.jsonl",
            "auto",
            {"order_status": ["Where is my order?"]},
            ("Where is my order?", "It ships tomorrow."),
            ["Refund please"],
            "web",
        ),
        (
            "pairs.csv",
            "csv",
            {"reset_password": ["How do I reset my password?"]},
            ("Where is my parcel?", "It is on its way."),
            ["Where is my parcel?"],
            "csv",
        ),
        (
            "taskmaster_like.json",
            "taskmaster",
            {},
            ("One latte, please.", "Sure. Anything else?"),
            ["One latte, please.", 'A mocha "to go", {big}'],
            "taskmaster",
        ),
        (
            "thread.mbox",
            "mbox",
            {},
            (
                "My kettle stopped working.\nFrom now on I will buy elsewhere.",
                "Sorry to hear that. Can you send a photo?",
            ),
            ["My kettle stopped working. From now on I will buy elsewhere."],
            "email",
        ),
        (
            "slack_export",
            "slack",
            {},
            ("My invoice is wrong & late", "Looking into it, @U9"),
            ["Lunch?", "My invoice is wrong & late"],
            "slack",
        ),
    ],
)
def test_format_end_to_end(run_prepare, tmp_path, name, fmt, intents, pair, openers, channel):
    out = tmp_path / "out"
    result = run_prepare(INGEST_FIXTURES / name, out, format=fmt, test_fraction=0.0)

    assert _intents(out) == intents
    pairs = _jsonl(out / "generation" / "pairs.jsonl")
    assert (pair[0], pair[1]) in [(p["customer"], p["agent"]) for p in pairs]
    assert {p["channel"] for p in pairs} == {channel}
    texts = [o["text"] for o in _jsonl(out / "unlabelled_openers.jsonl")]
    assert all(text in texts for text in openers)
    report = json.loads((out / "prepare_report.json").read_text())
    assert report["ingest"]["accepted"] == result.report.ingest.accepted > 0
    assert report["pairs"]["train"] == len(pairs)


def test_eml_folder_uses_support_domain_for_agent_turns(run_prepare, tmp_path):
    out = tmp_path / "out"
    result = run_prepare(INGEST_FIXTURES / "email", out, format="auto")

    openers = _jsonl(out / "unlabelled_openers.jsonl")
    assert "Hello, My kettle stopped working after two days." in [o["text"] for o in openers]
    assert {o["channel"] for o in openers} == {"email"}
    # Message-IDs look like addresses: they leave as stable pseudonyms.
    assert all(o["conversation_id"].startswith("id-") for o in openers)
    assert "@" not in (out / "unlabelled_openers.jsonl").read_text()
    # the agent's own email (acme.test) is no customer opener
    assert len(openers) == result.report.ingest.accepted - 1
    assert result.report.ingest.rejected == {"undecodable": 1}


def test_whole_fixture_folder_mixes_formats(run_prepare, tmp_path):
    out = tmp_path / "out"
    result = run_prepare(INGEST_FIXTURES, out, test_fraction=0.0)
    assert set(_intents(out)) == {"order_status", "reset_password"}
    channels = {p["channel"] for p in _jsonl(out / "generation" / "pairs.jsonl")}
    assert channels == {"web", "csv", "taskmaster", "email", "slack"}
    assert result.report.ingest.rejected["bad_json"] == 2
