"""The past-reply route: the nearest sendable agent reply within the recognised intent."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.nlg.generation.grounding import GroundingIndex
from bot.nlg.generation.pairs import GenerationPair
from bot.nlg.past_reply import PastReplySettings, find_past_reply
from common.errors import ConfigError
from tests.support.generation import SAMPLE_PAIRS, HashingEmbedder


def _pair(cid: str, customer: str, agent: str, intent: str) -> GenerationPair:
    return GenerationPair(cid, "web", (), customer, agent, intent)


class NoEmails:
    """A PII guard that refuses any reply with an @."""

    def pii(self, text: str, customer_texts: Sequence[str]) -> list[str]:
        return ["pii:EMAIL"] if "@" in text and not any("@" in c for c in customer_texts) else []


def _find(index: GroundingIndex, message: str, intent: str | None, **kwargs: object):
    slots = kwargs.pop("slots", {})
    settings = PastReplySettings(**kwargs)  # type: ignore[arg-type]
    return find_past_reply(
        index,
        message,
        intent=intent,
        slots=slots,  # type: ignore[arg-type]
        customer_texts=[message],
        guard=NoEmails(),
        settings=settings,
    )


def test_the_nearest_reply_of_the_recognised_intent_is_sent() -> None:
    index = GroundingIndex.build(SAMPLE_PAIRS, HashingEmbedder())
    found = _find(index, "can I ship a tent to canada", "product_question", min_score=0.1)
    assert found is not None
    # Unrestricted, "ship ... canada" is nearest to the shipping answer; inside the
    # recognised intent it is a tent answer.
    assert found.conversation_id in {"c2", "c4"} and found.intent == "product_question"
    anywhere = _find(
        index, "can I ship a tent to canada", "product_question", within_intent=False, min_score=0.1
    )
    assert anywhere is not None and anywhere.conversation_id == "c1"
    assert anywhere.intent is None
    unlabelled = _find(index, "can I ship a tent to canada", "not_in_the_index", min_score=0.1)
    assert unlabelled is not None and unlabelled.conversation_id == "c1"


def test_placeholders_are_removed_or_the_reply_is_skipped() -> None:
    pairs = [
        _pair("a", "where is my order", "Hi [PERSON_1]! Call {{Support Phone}} today.", "o"),
        _pair("b", "where is my order now", "It ships within 2 days. Ask [PERSON_1] later.", "o"),
        _pair("c", "where is my order please", "It ships within two working days.", "o"),
    ]
    index = GroundingIndex.build(pairs, HashingEmbedder())
    found = _find(index, "where is my order", "o", min_kept=0.5)
    assert found is not None
    # "a" loses everything; "b" keeps its first sentence (over half of it).
    assert found.conversation_id == "b" and found.rank == 1
    assert found.text == "It ships within 2 days." and found.dropped_sentences == 1
    strict = _find(index, "where is my order", "o", min_kept=0.9)
    assert strict is not None and strict.conversation_id == "c"


def test_slots_are_filled_from_the_conversation_or_the_reply_is_skipped() -> None:
    pairs = [
        _pair("a", "status of my order", "Order [ORDER_ID_1] left our warehouse today.", "o"),
        _pair("b", "status of my order please", "Most orders arrive in three days.", "o"),
    ]
    index = GroundingIndex.build(pairs, HashingEmbedder())
    without = _find(index, "status of my order", "o")
    assert without is not None and without.conversation_id == "b"
    filled = _find(index, "status of my order", "o", slots={"order_number": "PC-1042"})
    assert filled is not None and filled.text == "Order PC-1042 left our warehouse today."


def test_pii_guard_floor_and_candidates() -> None:
    pairs = [
        _pair("a", "who do I email", "Write to jo@pinecrest.example any time.", "contact"),
        _pair("b", "who do I email about it", "Use the contact form on our site.", "contact"),
    ]
    index = GroundingIndex.build(pairs, HashingEmbedder())
    found = _find(index, "who do I email", "contact")
    assert found is not None and found.conversation_id == "b"
    assert _find(index, "who do I email", "contact", candidates=1) is None
    assert _find(index, "zzz qqq", "contact", min_score=0.3) is None
    assert found.metadata() == {
        "score": round(found.score, 4),
        "conversation_id": "b",
        "intent": "contact",
        "rank": 1,
        "dropped_sentences": 0,
    }


@pytest.mark.parametrize(
    "values", [{"min_score": 1.5}, {"candidates": 0}, {"min_kept": 0.0}, {"min_kept": 1.2}]
)
def test_bad_settings_fail(values: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="past reply"):
        PastReplySettings(**values)  # type: ignore[arg-type]
