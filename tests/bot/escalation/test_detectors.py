"""Sentiment, sensitive topics, summary and ticket building on event dicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain

from bot.escalation.config import EscalationConfig, SentimentConfig, parse_escalation_config
from bot.escalation.sensitive import SensitiveTopicMatcher
from bot.escalation.sentiment import SentimentAnalyzer
from bot.escalation.summary import summarize
from bot.escalation.ticket import build_ticket, origin_of, transcript_of
from bot.escalation.triggers import TriggerEvaluator
from tests.support.trackers import bot, tracker, user


@pytest.fixture(scope="module")
def analyzer(escalation_config: EscalationConfig) -> SentimentAnalyzer:
    return SentimentAnalyzer(escalation_config.negative_sentiment)


def test_summary_keeps_the_most_informative_messages_in_order(
    escalation_config: EscalationConfig, analyzer: SentimentAnalyzer, domain: Domain
) -> None:
    events = _events(
        domain,
        user("I have a question about my tent", "product_question"),
        user("it is the Trail 2 from last month", "product_question"),
        user("the pole snapped, this is useless and awful", "damaged_item"),
        user("order PC-117264", "inform_order_number"),
        user("can you help", "product_question"),
    )
    summary = summarize(events, escalation_config.summary, analyzer)
    assert summary.key_messages == (
        "it is the Trail 2 from last month",
        "the pole snapped, this is useless and awful",
        "order PC-117264",
    )


def test_summary_clips_long_messages(
    escalation_config: EscalationConfig, analyzer: SentimentAnalyzer, domain: Domain
) -> None:
    events = _events(domain, user("word " * 100, "product_question"))
    [quoted] = summarize(events, escalation_config.summary, analyzer).key_messages
    assert len(quoted) == escalation_config.summary.max_chars
    assert quoted.endswith("…")


@pytest.mark.parametrize(
    "text",
    [
        "WHERE IS MY ORDER, I HAVE BEEN WAITING TWO WEEKS",
        "Oh great, late again. Thanks a lot.",
        "This is the worst service I have ever had, absolutely useless",
        "what the hell is going on with my refund",
    ],
)
def test_angry_messages_escalate(analyzer: SentimentAnalyzer, text: str) -> None:
    assert analyzer.score(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "Hi, could you tell me when my order will arrive?",
        "Thanks so much, that's really helpful!",
        "My jacket is a bit too small, can I exchange it?",
        "I'm a little disappointed the parcel is late, could you check please?",
    ],
)
def test_calm_messages_do_not_escalate(analyzer: SentimentAnalyzer, text: str) -> None:
    assert not analyzer.score(text).escalate


def test_thresholds_are_configurable() -> None:
    text = "I'm a little disappointed the parcel is late"
    strict = SentimentAnalyzer(SentimentConfig(compound_threshold=-0.1))
    lenient = SentimentAnalyzer(SentimentConfig(compound_threshold=-0.9))
    assert strict.score(text).escalate
    assert not lenient.score(text).escalate


def test_shouting_is_a_cue_but_short_caps_are_not(analyzer: SentimentAnalyzer) -> None:
    assert "<shouting>" in analyzer.score("THIS IS NOT OK AT ALL").cues
    assert "<shouting>" not in analyzer.score("PC-482913 OK").cues


def test_sensitive_matcher_is_case_insensitive_and_multiword() -> None:
    config = parse_escalation_config(
        {
            "triggers": {
                "sensitive_topics": {
                    "topics": {
                        "legal": {"priority": 3, "keywords": ["legal action"]},
                        "fraud": {"keywords": ["fraud"], "patterns": [r"\bstolen\s+card\b"]},
                    }
                }
            }
        }
    )
    matcher = SensitiveTopicMatcher(config.sensitive_topics.topics)
    assert [m.topic for m in matcher.matches("I will take LEGAL   action")] == ["legal"]
    assert [m.topic for m in matcher.matches("my Stolen Card was used")] == ["fraud"]
    assert matcher.matches("fraudulent-looking box") == []
    assert matcher.matches("legal") == []


def _events(domain: Domain, *turns: Any) -> list[dict[str, Any]]:
    return [e.as_dict() for e in tracker(domain, *turns).events]


def test_summary_quotes_key_messages_and_lists_facts(
    domain: Domain, escalation_config: EscalationConfig, analyzer: SentimentAnalyzer
) -> None:
    events = _events(
        domain,
        user("hi", "greet"),
        bot("utter_greet", "Hi!"),
        user(
            "my order pc 482913 never arrived",
            "missing_package",
            entities=[{"entity": "order_number", "value": "pc 482913", "start": 9, "end": 18}],
        ),
        bot("utter_missing_package", "Sorry to hear that."),
        user("ok", "affirm"),
        bot("utter_ask_what_else", "Anything else?"),
        user("This is absolutely ridiculous, I want my money back", "request_refund"),
        bot("utter_request_refund", "Refunds take 5-7 days."),
        user("/request_human", "request_human", 1.0),
    )
    fired = TriggerEvaluator(escalation_config, analyzer).evaluate(events)
    summary = summarize(events, escalation_config.summary, analyzer, fired)
    assert summary.order_numbers == ("PC-482913",)
    assert summary.intents[:3] == ("greet", "missing_package", "affirm")
    assert "request_human" in summary.intents
    assert summary.key_messages == (
        "my order pc 482913 never arrived",
        "This is absolutely ridiculous, I want my money back",
    )
    assert all("/request_human" not in m for m in summary.key_messages)
    assert summary.sentiment is not None and summary.sentiment < -0.3
    assert "Escalated: customer asked for a person." in summary.text
    assert "Orders: PC-482913." in summary.text
    assert "greet" not in summary.text.split("Intents:")[1].split("\n")[0]


def test_ticket_from_conversation(
    domain: Domain, escalation_config: EscalationConfig, analyzer: SentimentAnalyzer
) -> None:
    events = _events(
        domain,
        user("someone used my card for an order", "payment_failed", metadata={"channel": "slack"}),
    )
    fired = TriggerEvaluator(escalation_config, analyzer).evaluate(events)
    ticket = build_ticket(
        "slack:U123", events, fired, escalation_config, analyzer, now=1_800_000_000.0
    )
    assert ticket.conversation_id == "slack:U123"
    assert ticket.channel == "slack"
    assert ticket.customer_id == "U123"
    assert ticket.trigger == "sensitive_topic:fraud"
    assert ticket.priority == 2
    assert ticket.intents == ("payment_failed",)
    assert [t.role for t in ticket.transcript] == ["customer"]
    assert ticket.created_at == 1_800_000_000.0
    assert "sensitive topic: fraud" in ticket.summary


def test_origin_falls_back_to_sender_namespace_and_transcript_skips_payloads(
    domain: Domain,
) -> None:
    events = _events(domain, user("/request_human", "request_human", 1.0), bot("utter_greet", "Hi"))
    assert origin_of("telegram:42", events).channel == "telegram"
    assert origin_of("telegram:42", events).customer_id == "42"
    assert origin_of("plain-id", events).channel == "unknown"
    assert [t.text for t in transcript_of(events)] == ["Hi"]


def test_sentiment_set_is_well_formed() -> None:
    path = Path(__file__).resolve().parents[2] / "data" / "sentiment_set.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 150
    assert len({r["text"] for r in rows}) == len(rows)
    assert {r["split"] for r in rows} == {"tune", "holdout"}
    assert all(isinstance(r["escalate"], bool) for r in rows)
    kinds = {r["kind"] for r in rows}
    assert {"sarcasm", "polite_complaint", "caps", "swearing", "neutral", "positive"} <= kinds
    assert 0.3 < sum(r["escalate"] for r in rows) / len(rows) < 0.7
