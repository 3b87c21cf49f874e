"""The conversation replay: outcomes, scoring, baseline and report, with a scripted fake bot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.prepare.conftest import BagOfWordsEmbedder
from training.evaluate.conversations import (
    ABANDONED,
    ANSWERED,
    CONTAINED,
    FALLBACK,
    GENERATED,
    HANDED_OFF,
    KNOWLEDGE,
    PAST_REPLY,
    BotTurn,
    ReplayConfig,
    conversation_outcome,
    evaluate_conversations,
    report_markdown,
    turn_outcome,
)


@pytest.mark.parametrize(
    ("turn", "outcome"),
    [
        (BotTurn(("Queued.",), "request_human", ("action_escalate",)), HANDED_OFF),
        (BotTurn(("From the help centre.",), "q", ("utter_knowledge_answer",)), KNOWLEDGE),
        (BotTurn(("Written.",), "q", ("utter_generated",)), GENERATED),
        (BotTurn(("Sorry?",), "nlu_fallback", ("utter_default",)), FALLBACK),
        (BotTurn(("Sorry?",), "greet", ("action_default_fallback",)), FALLBACK),
        (BotTurn((), "greet", ()), FALLBACK),
        (BotTurn(("Hi!",), "greet", ("utter_greet",)), ANSWERED),
        # Knowledge replies through the NLG endpoint carry their outcome in the metadata.
        (BotTurn(("Yes.",), "product_question", ("utter_product_question",), "extract"), KNOWLEDGE),
        (BotTurn(("Yes.",), "nlu_fallback", ("utter_knowledge_answer",), "answer"), KNOWLEDGE),
        (
            BotTurn(("I don't know.",), "nlu_fallback", ("utter_knowledge_answer",), "dont_know"),
            FALLBACK,
        ),
        # The past-reply route: a past agent reply, or a generation when none was sendable.
        (BotTurn(("Taped.",), "q", ("utter_past_reply",), None, True), PAST_REPLY),
        (BotTurn(("Written.",), "q", ("utter_past_reply",)), GENERATED),
        # A form took the answer ("it's 40417"): answered, whatever NLU called it.
        (
            BotTurn(("Order 40417 shipped.",), "nlu_fallback", ("o_form", "utter_o"), form=True),
            ANSWERED,
        ),
        (BotTurn(("Sorry?",), "nlu_fallback", ("utter_o",)), FALLBACK),
    ],
)
def test_turn_outcome(turn, outcome):
    assert turn_outcome(turn) == outcome


def test_conversation_outcome():
    assert conversation_outcome([ANSWERED, HANDED_OFF]) == HANDED_OFF
    assert conversation_outcome([ANSWERED, FALLBACK]) == ABANDONED
    assert conversation_outcome([FALLBACK, ANSWERED]) == CONTAINED
    assert conversation_outcome([GENERATED]) == CONTAINED


class ScriptedBot:
    """Answers by keyword, like a tiny rule bot."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def respond(self, sender_id: str, text: str) -> BotTurn:
        self.seen.append((sender_id, text))
        if "person" in text:
            return BotTurn(("Passing you over.",), "request_human", ("action_escalate",))
        if "return" in text:
            return BotTurn(
                ("Returns are free within 30 days.",), "return_item", ("utter_return_item",)
            )
        return BotTurn(("Sorry, could you rephrase?",), "nlu_fallback", ("utter_default",))


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _conv(cid: str, *pairs: tuple[str, str, str]) -> dict:
    turns = []
    for customer, intent, agent in pairs:
        turns += [
            {"role": "customer", "text": customer, "intent": intent},
            {"role": "agent", "text": agent},
        ]
    return {"id": cid, "turns": turns}


def test_replay_scores_turns_and_counts_outcomes(tmp_path: Path):
    held = _write(
        tmp_path / "held.jsonl",
        [
            _conv(
                "a", ("how do I return boots", "return_item", "Returns are free within 30 days.")
            ),
            _conv(
                "b",
                ("I want a person", "request_human", "Sure, transferring you."),
                ("are you there", "greet", "Yes."),
            ),
            _conv("c", ("blorp", "return_item", "Could you say more?")),
        ],
    )
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        json.dumps(
            {
                "conversation_id": "p",
                "channel": None,
                "context": [],
                "customer": "return my boots",
                "agent": "Returns are free within 30 days.",
                "intent": "return_item",
            }
        )
        + "\n"
    )
    bot = ScriptedBot()
    report = evaluate_conversations(
        ReplayConfig(model=Path("m.tar.gz"), conversations=held, out=tmp_path / "out", pairs=pairs),
        embedder=BagOfWordsEmbedder(),
        bot=bot,
    )
    assert report["conversation_outcomes"] == {ABANDONED: 1, CONTAINED: 1, HANDED_OFF: 1}
    assert report["containment"] == pytest.approx(1 / 3)
    # The replay stops at the handoff: "are you there" is never sent.
    assert [t for _, t in bot.seen] == ["how do I return boots", "I want a person", "blorp"]
    assert len({s for s, _ in bot.seen}) == 3
    first = report["first_turns"]
    assert first["intent_accuracy"] == pytest.approx(2 / 3)
    assert report["per_intent"]["return_item"]["cosine"] < 1.0
    exact = report["per_intent"]["return_item"]
    assert exact["baseline_cosine"] is not None
    assert report["worst"][0]["id"] in {"b", "c"}
    markdown = (tmp_path / "out" / "conversations.md").read_text()
    assert markdown == report_markdown(report)
    assert "how do I return boots" not in markdown  # ids and figures only
    assert json.loads((tmp_path / "out" / "conversations.json").read_text())["conversations"] == 3


def test_the_sendable_baseline_never_answers_with_a_placeholder():
    from training.evaluate.conversations import RetrievalBaseline

    customers = ["where is my order", "where is my order now", "do you sell tents"]
    replies = [
        "Call {{Support Phone}} and quote {{Order Number}}.",
        "Orders ship within two days.",
        "Yes, we sell tents.",
    ]
    embedder = BagOfWordsEmbedder()
    baseline = RetrievalBaseline(customers, replies, embedder)
    raw, _ = baseline.answer(["where is my order"])
    assert raw == [replies[0]]
    _, safe = baseline.answer(["where is my order", "tents?"])
    assert safe == [replies[1], replies[2]]
    nothing = RetrievalBaseline(["a b"], ["Hi [PERSON_1]!"], embedder)
    assert nothing.answer(["a b"]) == (["Hi [PERSON_1]!"], [""])
