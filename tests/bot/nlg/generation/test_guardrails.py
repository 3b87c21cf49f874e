"""Each guardrail, on replies that must pass and replies that must fail."""

from __future__ import annotations

import math

import pytest

from bot.nlg.generation.guardrails import GuardConfig, Guardrails
from common.errors import ConfigError

GOOD = "Returns are free within 30 days of delivery, as long as the item is unused."


@pytest.fixture(scope="module")
def guards() -> Guardrails:
    return Guardrails()


def test_a_good_reply_passes(guards: Guardrails) -> None:
    assert guards.check(GOOD, mean_logprob=-0.8) == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Sure, write to anna.schmidt@example.com and she will help.", "pii:EMAIL"),
        ("Call our agent on +44 20 7946 0958 for help with that.", "pii:PHONE"),
        ("I found your order PC-482913, it ships today from the warehouse.", "pii:ORDER_ID"),
    ],
)
def test_pii_in_output_fails(guards: Guardrails, text: str, code: str) -> None:
    assert code in guards.check(text)


def test_pii_the_customer_wrote_may_be_repeated(guards: Guardrails) -> None:
    text = "Thanks, I'll look up order PC-482913 for you now."
    assert guards.check(text, customer_texts=["where is pc-482913?"]) == []
    assert guards.check("Order numbers look like PC-123456, check your email.") == []


@pytest.mark.parametrize(
    "text",
    [
        "Your order {{Order Number}} is on its way to you now.",
        "Your order {order_id} is on its way to you now.",
        "Hi [PERSON_1], your order [ORDER_1] has shipped today.",
        "Hello <NAME>, your parcel is on its way to you.",
    ],
)
def test_placeholders_fail(guards: Guardrails, text: str) -> None:
    assert "placeholder" in guards.check(text)


def test_length_bounds() -> None:
    guards = Guardrails(GuardConfig(min_chars=10, max_chars=60))
    assert guards.check("Yes.") == ["too_short"]
    assert "too_long" in guards.check("This reply goes on and on about tents and boots. " * 3)
    with pytest.raises(ConfigError):
        GuardConfig(min_chars=50, max_chars=10)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Don't worry, we will refund you $50 for the trouble today.", "forbidden:refund_amount"),
        ("We'll credit your card with 20 euros as an apology.", "forbidden:refund_amount"),
        ("I guarantee the tent will arrive before the weekend.", "forbidden:guarantee"),
        ("You are legally entitled to a replacement, so we are liable here.", "forbidden:legal"),
    ],
)
def test_forbidden_promises_fail(guards: Guardrails, text: str, code: str) -> None:
    assert code in guards.check(text)


def test_refund_policy_without_amount_passes(guards: Guardrails) -> None:
    assert guards.check("We refund you within 5–7 business days of the return arriving.") == []


def test_forbidden_patterns_are_configurable() -> None:
    guards = Guardrails(GuardConfig(forbidden_patterns={"discount": r"(?i)\d+% off"}))
    assert guards.check("You get 20% off your next order with us.") == ["forbidden:discount"]
    assert guards.check("I guarantee you'll love the tent, it is great.") == []
    with pytest.raises(ConfigError):
        GuardConfig(forbidden_patterns={"bad": "("})


def test_low_logprob_fails(guards: Guardrails) -> None:
    assert guards.check(GOOD, mean_logprob=-4.0) == ["low_logprob"]
    assert guards.check(GOOD, mean_logprob=math.nan) == ["low_logprob"]
    strict = Guardrails(GuardConfig(min_mean_logprob=-0.5))
    assert strict.check(GOOD, mean_logprob=-0.8) == ["low_logprob"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("   ", "empty"),
        ("!!! ??? ... 123 456 --- ***", "degenerate"),
        ("the tent the tent the tent the tent the tent is good", "repetitive"),
        ("Yes yes yes yes, we ship there.", "repetitive"),
        ("aaaaaaaaaaaaaaaaaaa", "repetitive"),
        (
            "We ship to the EU and the UK. We ship to the EU and the UK. We ship to the EU.",
            "repetitive",
        ),
    ],
)
def test_empty_degenerate_repetitive_fail(guards: Guardrails, text: str, code: str) -> None:
    assert code in guards.check(text)
