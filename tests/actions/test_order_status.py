import json

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.order_status import ActionCheckOrderStatus
from actions.orders import JsonOrderStore, normalise_order_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PC-123456", "PC-123456"),
        ("pc 123456", "PC-123456"),
        ("it's pc123456!", "PC-123456"),
        ("PC-12345", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_order_number(raw, expected):
    assert normalise_order_number(raw) == expected


def _tracker(text, entity=None, slot=None):
    entities = [{"entity": "order_number", "value": entity}] if entity else []
    return Tracker(
        sender_id="web:abc",
        slots={"order_number": slot},
        latest_message={"text": text, "entities": entities, "intent": {"name": "order_status"}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


@pytest.fixture
def action(tmp_path):
    book = tmp_path / "orders.json"
    book.write_text(json.dumps({"PC-111111": {"status": "shipped", "detail": "On its way."}}))
    return ActionCheckOrderStatus(JsonOrderStore(book))


async def test_known_order_is_reported(action):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, _tracker("where is pc 111111", entity="pc 111111"), {})
    assert dispatcher.messages[0]["response"] == "utter_order_status"
    assert dispatcher.messages[0]["status"] == "shipped"
    assert events == [
        {"event": "slot", "timestamp": None, "name": "order_number", "value": "PC-111111"}
    ]


async def test_unknown_order_asks_to_check_and_clears_the_slot(action):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, _tracker("PC-999999", slot="PC-999999"), {})
    assert dispatcher.messages[0]["response"] == "utter_order_not_found"
    assert dispatcher.messages[0]["order_number"] == "PC-999999"
    assert events[0]["value"] is None


async def test_no_number_asks_for_it(action):
    dispatcher = CollectingDispatcher()
    assert await action.run(dispatcher, _tracker("where is my stuff"), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_ask_order_number"
