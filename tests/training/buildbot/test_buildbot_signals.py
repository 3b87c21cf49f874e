"""Slot questions and handoffs in agents' replies."""

from __future__ import annotations

import pytest

from training.buildbot.signals import asked_slot, is_handoff


@pytest.mark.parametrize(
    ("reply", "slot"),
    [
        ("Happy to check. What's your order number?", "order_number"),
        ("Could you send me the email address on the account?", "email"),
        ("Sure! How many people will be joining?", "party_size"),
        ("Please share your tracking number so I can look.", "tracking_number"),
        ("Your order number is on the confirmation email.", None),
        ("Returns are free within 30 days.", None),
        # Agents who ask the customer to confirm what they see (Taskmaster-4's coffee bar).
        ("Is the order correct on the screen?", "confirmation"),
        ("OK. Just confirm the order all looks correct and I'll send it off.", "confirmation"),
        ("Let me know if that looks right and I will send your order.", "confirmation"),
        ("Can you make sure that is the correct order?", "confirmation"),
        ("Could you confirm your order number is correct?", "order_number"),
        ("Your order is correct and will be ready shortly.", None),
        ("That's right, we open at nine.", None),
    ],
)
def test_asked_slot(reply, slot):
    assert asked_slot(reply) == slot


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("I'm transferring you to a colleague who handles these cases.", True),
        ("Let me escalate this to our relations team.", True),
        ("I'm connecting you with a specialist now.", True),
        ("A supervisor will contact you tomorrow.", True),
        ("You can return it within 30 days.", False),
        ("Our team checks every parcel before it ships.", False),
    ],
)
def test_is_handoff(reply, expected):
    assert is_handoff(reply) is expected
