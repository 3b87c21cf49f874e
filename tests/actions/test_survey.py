"""The satisfaction survey in each channel, and its bad input."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.survey import (
    WINDOW_SECONDS,
    ActionAskRating,
    ActionBackToBot,
    ActionRecordRating,
    parse_rating,
)
from common.privacy import RedactionConfig, Redactor

NOW = 1_800_000_000.0


def _user(
    text: str, intent: str, channel: str, entities: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "input_channel": channel,
        "parse_data": {"intent": {"name": intent}, "entities": entities or []},
    }


def _slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def _tracker(events: list[dict[str, Any]]) -> Tracker:
    latest = next((e for e in reversed(events) if e["event"] == "user"), {})
    return Tracker(
        sender_id="x",
        slots={},
        latest_message={
            "text": latest.get("text"),
            "intent": latest.get("parse_data", {}).get("intent"),
            "entities": latest.get("parse_data", {}).get("entities", []),
        },
        events=[{"event": "session_started"}, *events],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


async def _ask(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    result = await ActionAskRating(clock=lambda: NOW).run(dispatcher, _tracker(events), {})
    return dispatcher.messages, result


async def _answer(
    events: list[dict[str, Any]], at: float = NOW + 60
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    redactor = Redactor(RedactionConfig(types=frozenset({"EMAIL", "PHONE"})))
    action = ActionRecordRating(clock=lambda: at, redactor=redactor)
    result = await action.run(dispatcher, _tracker(events), {})
    return dispatcher.messages, result


@pytest.mark.parametrize("channel", ["web", "slack", "telegram"])
async def test_button_channels_get_five_buttons(channel: str) -> None:
    messages, events = await _ask([_user("bye", "goodbye", channel)])
    assert messages[0]["response"] == "utter_csat_ask"
    assert [b["title"] for b in messages[0]["buttons"]] == ["1", "2", "3", "4", "5"]
    assert messages[0]["buttons"][3]["payload"] == '/csat_rate{"csat_rating": 4}'
    assert events == [{"event": "slot", "timestamp": None, "name": "csat_asked_at", "value": NOW}]


async def test_email_gets_a_reply_line() -> None:
    messages, events = await _ask([_user("thanks, bye", "goodbye", "email")])
    assert messages == [{**messages[0], "response": "utter_csat_ask_reply_line", "buttons": []}]
    assert events[0]["name"] == "csat_asked_at"


async def test_asked_once_per_conversation() -> None:
    messages, events = await _ask([_user("bye", "goodbye", "web"), _slot("csat_asked_at", NOW - 5)])
    assert messages == [] and events == []


async def test_a_new_session_may_be_asked_again() -> None:
    history = [_slot("csat_asked_at", NOW - 5000), {"event": "session_started"}]
    messages, _ = await _ask([*history, _user("bye", "goodbye", "web")])
    assert messages[0]["response"] == "utter_csat_ask"


async def test_never_after_an_angry_escalation_until_the_agent_resolved() -> None:
    angry = [
        _user("this is ridiculous", "complaint", "web"),
        _slot("escalation_trigger", "negative_sentiment"),
        _slot("escalation_trigger", None),
    ]
    messages, _ = await _ask([*angry, _user("bye", "goodbye", "web")])
    assert messages == []
    resolved = [*angry, _user("/handoff_resolved", "handoff_resolved", "web")]
    messages, _ = await _ask(resolved)
    assert messages[0]["response"] == "utter_csat_ask"
    other = [_slot("escalation_trigger", "asked_for_human"), _user("bye", "goodbye", "web")]
    messages, _ = await _ask(other)
    assert messages[0]["response"] == "utter_csat_ask"


ASKED = [_user("bye", "goodbye", "web"), _slot("csat_asked_at", NOW)]


async def test_button_rating_is_recorded() -> None:
    entity = [{"entity": "csat_rating", "value": 4}]
    messages, events = await _answer(
        [*ASKED, _user('/csat_rate{"csat_rating": 4}', "csat_rate", "web", entity)]
    )
    assert messages[0]["response"] == "utter_csat_thanks"
    assert [(e["name"], e["value"]) for e in events] == [("csat_rating", 4)]


async def test_email_reply_with_a_redacted_comment() -> None:
    asked = [_user("bye", "goodbye", "email"), _slot("csat_asked_at", NOW)]
    reply = "5 - great, call me on +44 7700 900123 anytime\n\n> How did we do?"
    messages, events = await _answer([*asked, _user(reply, "csat_rate", "email")])
    assert messages[0]["response"] == "utter_csat_thanks"
    values = {e["name"]: e["value"] for e in events}
    assert values["csat_rating"] == 5
    assert "7700" not in values["csat_comment"] and "[PHONE_1]" in values["csat_comment"]


@pytest.mark.parametrize(("text", "entity"), [("7", None), ("0", None), ("", 9)])
async def test_out_of_range_asks_again_with_buttons(text: str, entity: int | None) -> None:
    entities = [{"entity": "csat_rating", "value": entity}] if entity is not None else []
    messages, events = await _answer([*ASKED, _user(text, "csat_rate", "telegram", entities)])
    assert messages[0]["response"] == "utter_csat_out_of_range"
    assert len(messages[0]["buttons"]) == 5
    assert [(e["name"], e["value"]) for e in events] == [("csat_rating", None)]


async def test_free_text_asks_for_a_number_then_gives_up() -> None:
    first = [*ASKED, _user("it was fine I guess", "csat_rate", "slack")]
    messages, events = await _answer(first)
    assert messages[0]["response"] == "utter_csat_not_a_number"
    second = [*first, *[_slot(e["name"], e["value"]) for e in events]]
    messages, events = await _answer([*second, _user("meh", "csat_rate", "slack")])
    assert messages[0]["response"] == "utter_csat_closed"
    assert [(e["name"], e["value"]) for e in events] == [("csat_asked_at", None)]
    messages, _ = await _answer(
        [*second, _slot("csat_asked_at", None), _user("4", "csat_rate", "slack")]
    )
    assert messages[0]["response"] == "utter_csat_closed"


async def test_after_the_window_or_unasked_nothing_is_recorded() -> None:
    late = NOW + WINDOW_SECONDS + 1
    messages, events = await _answer([*ASKED, _user("5", "csat_rate", "web")], at=late)
    assert messages[0]["response"] == "utter_csat_closed" and events == []
    messages, events = await _answer([_user("5", "csat_rate", "web")])
    assert messages[0]["response"] == "utter_csat_closed" and events == []


async def test_rated_once() -> None:
    rated = [*ASKED, _user("4", "csat_rate", "web"), _slot("csat_rating", 4)]
    messages, events = await _answer([*rated, _user("1", "csat_rate", "web")])
    assert messages[0]["response"] == "utter_csat_already" and events == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4", (4, "")),
        ("5 stars", (5, "")),
        ("4/5 quick and friendly", (4, "quick and friendly")),
        ("Four - nice", (4, "nice")),
        ("10", (10, "")),
        ("great service", (None, "")),
        ("3\n\n> quoted question", (3, "")),
    ],
)
def test_parse_rating(text: str, expected: tuple[int | None, str]) -> None:
    assert parse_rating(text) == expected


async def _back(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    result = await ActionBackToBot(clock=lambda: NOW).run(dispatcher, _tracker(events), {})
    return dispatcher.messages, result


async def test_back_to_bot_asks_in_the_same_message_after_the_agents_resolve() -> None:
    angry = [
        _user("this is ridiculous", "complaint", "web"),
        _slot("escalation_trigger", "negative_sentiment"),
    ]
    # The inbox resumes through Rasa's collecting channel and delivers text: a reply line.
    messages, events = await _back([*angry, _user("", "handoff_resolved", "collector")])
    assert len(messages) == 1
    assert messages[0]["response"] == "utter_back_to_bot_rate_reply_line"
    assert events[0]["name"] == "csat_asked_at"
    messages, _ = await _back([*angry, _user("", "handoff_resolved", "telegram")])
    assert messages[0]["response"] == "utter_back_to_bot_rate"
    assert len(messages[0]["buttons"]) == 5


async def test_back_to_bot_without_asking_twice() -> None:
    asked = [_slot("csat_asked_at", NOW - 10), _user("", "handoff_resolved", "web")]
    messages, events = await _back(asked)
    assert [m["response"] for m in messages] == ["utter_back_to_bot"] and events == []
