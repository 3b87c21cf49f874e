"""Knowledge answers end to end: `rasa train` with the help centre, a running server, REST.

The sample bot's training builds the knowledge index into the model
(``bot.nlu.knowledge_index.KnowledgeRetriever`` over ``scripts/build_knowledge.sh``'s chunks)
and teaches the generator the answer examples; the running server answers help-centre
questions through the NLG endpoint's ``knowledge_for`` with a cited answer or extract, and
says honestly when it does not know, offering a person, then hands over.
"""

from __future__ import annotations

import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from loopback.rasa_server import RunningBot, running_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def bot(sample_bot_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with running_bot(sample_bot_model, tmp_path_factory.mktemp("knowledge")) as running:
        yield running


def _say(bot: RunningBot, text: str, sender: str) -> list[dict[str, Any]]:
    response = requests.post(
        f"{bot.url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=180,
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def _bot_events(bot: RunningBot, sender: str) -> list[dict[str, Any]]:
    tracker = requests.get(f"{bot.url}/conversations/{sender}/tracker", timeout=30).json()
    return [e for e in tracker["events"] if e["event"] == "bot"]


def test_the_model_holds_the_knowledge_index(sample_bot_model: Path) -> None:
    with tarfile.open(sample_bot_model) as archive:
        names = archive.getnames()
    assert any("KnowledgeRetriever" in n and n.endswith("index.json") for n in names), names


@pytest.mark.parametrize(
    ("question", "folder"),
    [
        ("can I wash a down jacket in a machine?", "care/"),
        ("what does the comfort rating of a sleeping bag mean?", "products/"),
    ],
)
def test_a_help_centre_question_is_answered_over_rest_with_its_source(
    bot: RunningBot, question: str, folder: str
) -> None:
    sender = f"kb-{uuid.uuid4().hex[:8]}"
    replies = _say(bot, question, sender)
    text = "\n\n".join(r.get("text", "") for r in replies)
    event = _bot_events(bot, sender)[-1]
    knowledge = event["metadata"]["knowledge"]
    assert knowledge["outcome"] in ("answer", "extract"), knowledge
    source = knowledge["sources"][0]
    assert source["chunk_id"].startswith(folder), knowledge
    assert f"Source: {source['title']}" in text
    assert "buttons" not in replies[-1]


def test_an_unanswerable_question_gets_the_honest_reply_then_a_person(
    bot: RunningBot,
) -> None:
    sender = f"kb-gap-{uuid.uuid4().hex[:8]}"
    replies = _say(bot, "do you rent out kayaks for the weekend?", sender)
    knowledge = _bot_events(bot, sender)[-1]["metadata"]["knowledge"]
    assert knowledge["outcome"] == "dont_know", knowledge
    assert "don't know" in replies[0]["text"]
    assert {b["payload"] for b in replies[-1].get("buttons", [])} == {"/request_human"}
    # A second "I don't know" in the same conversation: the knowledge_gap trigger hands
    # the conversation to a person.
    _say(bot, "do you rent out canoes for the weekend?", sender)
    _say(bot, "do you rent out paddleboards for the weekend?", sender)
    tracker = requests.get(f"{bot.url}/conversations/{sender}/tracker", timeout=30).json()
    events = tracker["events"]
    assert any(e["event"] == "action" and e["name"] == "action_escalate" for e in events)
    assert {"knowledge_gap"} <= {
        e.get("value") for e in events if e["event"] == "slot" and e["name"] == "escalation_trigger"
    }
