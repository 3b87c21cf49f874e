"""``action_check_order_status``: look an order up and say where it is."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.orders import JsonOrderStore, OrderStore, normalise_order_number

logger = logging.getLogger(__name__)


class ActionCheckOrderStatus(Action):
    """Reply with the status of the order in the ``order_number`` slot or the message.

    Args:
        store: Where orders are looked up; the sample order book by default.
    """

    def __init__(self, store: OrderStore | None = None) -> None:
        self.store: OrderStore = store or JsonOrderStore()

    def name(self) -> str:
        """Return the action's name in the domain."""
        return "action_check_order_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Look the order up and tell the customer.

        Args:
            dispatcher: Sends messages back.
            tracker: The conversation.
            domain: The bot's domain.

        Returns:
            Events: the canonical order number in the slot.
        """
        raw = next(tracker.get_latest_entity_values("order_number"), None) or tracker.get_slot(
            "order_number"
        )
        number = normalise_order_number(raw) or normalise_order_number(
            tracker.latest_message.get("text")
        )
        if number is None:
            dispatcher.utter_message(response="utter_ask_order_number")
            return []
        order = self.store.find(number)
        logger.info("Order look-up for sender %s: found=%s", tracker.sender_id, order is not None)
        if order is None:
            dispatcher.utter_message(response="utter_order_not_found", order_number=number)
            return [SlotSet("order_number", None)]
        dispatcher.utter_message(
            response="utter_order_status",
            order_number=order.number,
            status=order.status,
            detail=order.detail,
        )
        return [SlotSet("order_number", order.number)]
