"""Placeholders in agents' replies, replies made safe to send, and slots filled in."""

from __future__ import annotations

from common.placeholders import fill_slots, placeholders, renumber, sanitise


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


def test_placeholders_know_which_slot_fills_them():
    found = placeholders("Order [ORDER_ID_1] for {{Order Number}}, [PERSON_2], {{Support Hours}}")
    assert [(p.text, p.slot) for p in found] == [
        ("[ORDER_ID_1]", "order_number"),
        ("{{Order Number}}", "order_number"),
        ("[PERSON_2]", None),
        ("{{Support Hours}}", None),
    ]


def test_sanitise_interpolates_slots_and_drops_sentences_no_slot_can_fill():
    reply = (
        "Your order [ORDER_ID_1] left our warehouse today and arrives within three days. "
        "Thanks for waiting. Call us during {{Support Hours}}."
    )
    result = sanitise(reply)
    assert result is not None
    assert result.text == (
        "Your order {order_number} left our warehouse today and arrives within three days. "
        "Thanks for waiting."
    )
    assert result.slots == ("order_number",)
    assert result.dropped_sentences == 1


def test_sanitise_drops_a_list_item_with_its_number():
    reply = (
        "Here is how: 1. Sign in to your account. 2. Open {{Invoice Section}}. "
        "3. Download the invoice you need from the list."
    )
    result = sanitise(reply, min_kept=0.5)
    assert result is not None
    assert result.text == (
        "Here is how: 1. Sign in to your account. 2. Download the invoice you need from the list."
    )  # the steps numbered again: no "3." after "1."


def test_sanitise_refuses_a_reply_that_is_mostly_placeholder_sentences():
    assert sanitise("Hi [PERSON_1]! We open at {{Support Hours}} on {{Days}}. Ok.") is None
    assert sanitise("   ") is None


def test_steps_are_numbered_again_after_a_dropped_step():
    reply = (
        "Please follow these steps:\n1. Go to our {{Website Name}}.\n"
        "2. Open Account settings.\n3) Click Edit and save.\n"
        "Then: 4. Check the email we send."
    )
    sanitised = sanitise(reply, 0.5)
    assert sanitised is not None
    assert sanitised.text == (
        "Please follow these steps: 1. Open Account settings. 2) Click Edit and save. "
        "Then: 1. Check the email we send."
    )


def test_renumber_leaves_decimals_and_unnumbered_text_alone():
    sentences = ["It weighs 2.5 kg.", "3. Fold it.", "4. Pack it.", "Done."]
    assert renumber(sentences) == ["It weighs 2.5 kg.", "1. Fold it.", "2. Pack it.", "Done."]
