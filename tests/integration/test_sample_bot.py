"""The sample bot end to end: `rasa train`, a running server, the REST channel."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
import yaml
from rasa.shared.importers.utils import training_data_from_paths
from rasa.shared.nlu.constants import INTENT, TEXT

from loopback.rasa_server import ROOT, running_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _responses() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in (ROOT / "domain").glob("*.yml"):
        for name, variants in (yaml.safe_load(path.read_text()).get("responses") or {}).items():
            found[name] = [v["text"] for v in variants if "text" in v]
    return found


@pytest.fixture(scope="module")
def bot(sample_bot_model: Path, tmp_path_factory):
    with running_bot(sample_bot_model, tmp_path_factory.mktemp("bot")) as running:
        yield running


def _say(bot, text: str, sender: str | None = None) -> list[dict]:
    response = requests.post(
        f"{bot.url}/webhooks/rest/webhook",
        json={"sender": sender or uuid.uuid4().hex, "message": text},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_train_produced_a_model_with_our_classifier(sample_bot_model: Path):
    import tarfile

    with tarfile.open(sample_bot_model) as archive:
        names = archive.getnames()
    assert any("TransformerIntentClassifier" in n for n in names)
    assert any(n.endswith("intent_model.safetensors") for n in names)


def test_greeting_gets_the_company_greeting(bot):
    replies = _say(bot, "hi there")
    assert replies and replies[0]["text"] in _responses()["utter_greet"]
    assert {b["payload"] for b in replies[0].get("buttons", [])} >= {"/request_human"}


def test_order_status_goes_through_the_action_server(bot):
    replies = _say(bot, "where is my order PC-482913?")
    text = " ".join(r.get("text", "") for r in replies)
    assert "PC-482913" in text and "shipped" in text


def test_order_number_asked_for_then_given(bot):
    sender = uuid.uuid4().hex
    first = " ".join(r.get("text", "") for r in _say(bot, "has my parcel shipped yet?", sender))
    assert first in " ".join(_responses()["utter_ask_order_number"]) or "order number" in first
    second = " ".join(r.get("text", "") for r in _say(bot, "it's PC-730011", sender))
    assert "PC-730011" in second and "delayed" in second


def test_unseen_phrasings_get_the_right_intent(bot):
    data = training_data_from_paths([str(ROOT / "tests/data/sample_bot_unseen.yml")], "en")
    examples = [(m.get(TEXT), m.get(INTENT)) for m in data.intent_examples]
    assert len(examples) >= 100
    hits = 0
    misses = []
    for text, intent in examples:
        parsed = requests.post(f"{bot.url}/model/parse", json={"text": text}, timeout=30).json()
        ranking = [r["name"] for r in parsed["intent_ranking"]]
        if ranking and ranking[0] == intent:
            hits += 1
        else:
            misses.append((intent, ranking[:1]))
    accuracy = hits / len(examples)
    assert accuracy >= 0.85, f"accuracy {accuracy:.3f}; misses {misses}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "refund " * 1500,
        "🙂🙂 где мой заказ? 我的订单在哪里 🚚 ¿dónde está?",
        "\u0000\u200b",
    ],
    ids=["empty", "blank", "10k-chars", "emoji-mixed-scripts", "control-chars"],
)
def test_bad_input_gets_an_answer_and_the_server_stays_up(bot, text):
    replies = _say(bot, text)
    assert isinstance(replies, list)
    assert requests.get(f"{bot.url}/status", timeout=10).status_code == 200
    assert bot.process.poll() is None


def test_low_confidence_falls_back_to_the_rephrase_response(bot):
    parsed = requests.post(f"{bot.url}/model/parse", json={"text": ""}, timeout=30).json()
    assert parsed["intent"]["name"] == "nlu_fallback"
