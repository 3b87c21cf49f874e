"""Placeholders made safe to send, and slots filled into a sanitised reply."""

from __future__ import annotations

from common.placeholders import fill_slots, sanitise


def test_slots_are_filled_and_a_missing_slot_refuses_the_reply() -> None:
    sanitised = sanitise("Order [ORDER_ID_1] has shipped. Reply to [EMAIL_1] with questions.")
    assert sanitised is not None
    assert sanitised.slots == ("order_number", "email")
    filled = fill_slots(sanitised, {"order_number": " PC-1 ", "email": "a@b.example"})
    assert filled == "Order PC-1 has shipped. Reply to a@b.example with questions."
    assert fill_slots(sanitised, {"order_number": "PC-1"}) is None
    assert fill_slots(sanitised, {"order_number": "PC-1", "email": "  "}) is None


def test_a_reply_without_slots_is_sent_as_sanitised() -> None:
    sanitised = sanitise("Returns take five days. Call {{Support Phone}} if not.", min_kept=0.4)
    assert sanitised is not None and sanitised.dropped_sentences == 1
    assert fill_slots(sanitised, {}) == "Returns take five days."
