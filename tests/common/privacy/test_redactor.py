"""Tests of the redactor: placeholders, sessions, overlaps, config, names, the annotated set.

Most tests use a fake name finder; those marked by the ``nlp_redactor`` fixture load the
packaged spaCy model once for the whole session.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import re
import sys
from pathlib import Path

import pytest

from common.errors import ConfigError, ModelPackageMissingError
from common.privacy import (
    Detection,
    PlaceholderSession,
    RedactionConfig,
    Redactor,
    find_model_path,
    resolve_overlaps,
)

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(__file__).parent / "data" / "pii_set.jsonl"


class FakeNames:
    """Finds exactly the given names; stands in for spaCy."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.calls = 0

    def find_many(self, texts):
        self.calls += 1
        return [
            [
                Detection("PERSON", m.start(), m.end(), m.group().casefold())
                for name in self.names
                for m in re.finditer(re.escape(name), text)
            ]
            for text in texts
        ]


@pytest.fixture
def redactor() -> Redactor:
    return Redactor(name_finder=FakeNames("Anna Schmidt", "Marco"))


@pytest.fixture(scope="session")
def nlp_redactor() -> Redactor:
    redactor = Redactor()
    redactor.redact("Hi Anna, warm-up.")  # loads the model once for the session
    return redactor


def load_bench():
    """Import bench/pii.py (not a package) to share its matching rule."""
    if "bench_pii" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_pii", ROOT / "bench" / "pii.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_pii"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["bench_pii"]


# --- placeholders and sessions ------------------------------------------------------


def test_redact_replaces_each_type_with_a_typed_placeholder(redactor):
    text = (
        "I'm Anna Schmidt, anna@example.com, +49 30 12345678, card 4111 1111 1111 1111, "
        "IBAN DE89 3704 0044 0532 0130 00, order PC-123456, account ACC-10482733, "
        "link https://pinecrest.example/reset?token=8f3kQ2xLm9Zp4Rt7Vb1N, "
        "address 221B Baker Street, London NW1 6XE."
    )
    result = redactor.redact(text)
    assert result.text == (
        "I'm [PERSON_1], [EMAIL_1], [PHONE_1], card [CARD_1], IBAN [IBAN_1], order "
        "[ORDER_ID_1], account [ACCOUNT_ID_1], link [URL_1], address [ADDRESS_1]."
    )
    assert [s.type for s in result.spans] == [
        "PERSON", "EMAIL", "PHONE", "CARD", "IBAN", "ORDER_ID", "ACCOUNT_ID", "URL", "ADDRESS",
    ]  # fmt: skip
    for span in result.spans:  # offsets point into the original text
        assert text[span.start : span.end].strip() == text[span.start : span.end]
    assert result.counts()["EMAIL"] == 1


def test_same_value_gets_same_placeholder_within_a_session(redactor):
    session = PlaceholderSession()
    first = redactor.redact("Mail anna@example.com or bob@example.com", session)
    second = redactor.redact("Again: ANNA@example.com, then carl@example.com", session)
    assert first.text == "Mail [EMAIL_1] or [EMAIL_2]"
    assert second.text == "Again: [EMAIL_1], then [EMAIL_3]"


def test_phone_written_two_ways_is_one_placeholder(redactor):
    session = PlaceholderSession()
    result = redactor.redact("Call 0171 2345678, i.e. +49 171 2345678, or 0171 7654321", session)
    assert result.text == "Call [PHONE_1], i.e. [PHONE_1], or [PHONE_2]"


def test_an_email_spelled_out_is_the_same_placeholder(redactor):
    text = "ravi.menon@example.com, or ravi dot menon at example dot com"
    assert redactor.redact(text).text == "[EMAIL_1], or [EMAIL_1]"


def test_types_are_numbered_independently(redactor):
    result = redactor.redact("Marco: marco@example.com; Anna Schmidt: anna@example.com")
    assert result.text == "[PERSON_1]: [EMAIL_1]; [PERSON_2]: [EMAIL_2]"


def test_without_session_each_text_is_numbered_alone(redactor):
    results = redactor.redact_many(["a@example.com", "b@example.com"])
    assert [r.text for r in results] == ["[EMAIL_1]", "[EMAIL_1]"]


def test_redact_many_with_session_matches_one_by_one(redactor):
    texts = ["Hi Marco, mail a@example.com", "a@example.com and b@example.com", "Marco again"]
    batch = redactor.redact_many(texts, PlaceholderSession())
    session = PlaceholderSession()
    single = [redactor.redact(t, session) for t in texts]
    assert batch == single
    assert batch[1].text == "[EMAIL_1] and [EMAIL_2]"
    assert batch[2].text == "[PERSON_1] again"


def test_redact_many_batches_the_name_finder():
    names = FakeNames("Marco")
    Redactor(name_finder=names).redact_many(["Hi Marco", "Bye Marco", "x"])
    assert names.calls == 1


# --- no raw values anywhere ---------------------------------------------------------

RAW = [
    "anna@example.com",
    "+49 30 12345678",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "Anna Schmidt",
    "PC-123456",
]


def test_results_and_sessions_hold_no_raw_values(redactor):
    session = PlaceholderSession()
    result = redactor.redact(", ".join(RAW), session)
    dumped = repr(result) + repr(dataclasses.asdict(result)) + repr(vars(session))
    for value in RAW:
        assert value not in result.text
        assert value not in dumped
        assert value.casefold().replace(" ", "") not in dumped.casefold().replace(" ", "")
    assert {f.name for f in dataclasses.fields(result.spans[0])} == {
        "type", "start", "end", "placeholder",
    }  # fmt: skip


def test_logs_carry_counts_not_values(redactor, caplog):
    caplog.set_level(logging.DEBUG, logger="common.privacy")
    redactor.redact_many([", ".join(RAW), "Marco: marco@example.com"])
    assert caplog.records, "the redactor should log what it did"
    for value in RAW + ["marco@example.com"]:
        assert value not in caplog.text
    assert "EMAIL" in caplog.text


def test_logs_of_the_real_model_carry_no_values(nlp_redactor, caplog):
    caplog.set_level(logging.DEBUG)
    nlp_redactor.redact_many(["Hi Anna, my number is +44 20 7946 0321. Thanks, Marco Rossi"])
    for value in ("Anna", "Marco", "7946"):
        assert value not in caplog.text


# --- existing placeholders ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I want to check the status of {{Order Number}}",
        "Please send the invoice to [EMAIL_1], not [EMAIL_2].",
        "Hi [PERSON_1], your refund for {{Order Number}} is on its way.",
        "What's the {{Person Name}} on the account {{Account Type}}?",
    ],
)
def test_placeholdered_text_is_left_alone(nlp_redactor, text):
    result = nlp_redactor.redact(text)
    assert result.text == text
    assert result.spans == ()


def test_new_values_are_numbered_after_existing_placeholders(redactor):
    result = redactor.redact("[EMAIL_1] wrote from new@example.com")
    assert result.text == "[EMAIL_1] wrote from [EMAIL_2]"


# --- overlaps -----------------------------------------------------------------------


def test_longest_span_wins():
    found = [
        Detection("PERSON", 0, 12),  # "anna.schmidt" in the email
        Detection("EMAIL", 0, 24),
        Detection("PHONE", 30, 40),
    ]
    assert resolve_overlaps(found) == [Detection("EMAIL", 0, 24), Detection("PHONE", 30, 40)]


def test_equal_length_ties_follow_type_priority():
    found = [Detection("PHONE", 5, 21), Detection("CARD", 5, 21), Detection("ADDRESS", 5, 21)]
    assert [d.type for d in resolve_overlaps(found)] == ["CARD"]


def test_protected_spans_block_detections():
    assert resolve_overlaps([Detection("PERSON", 2, 8)], protected=[(0, 16)]) == []


def test_order_number_inside_longer_address_loses(redactor):
    # The card is longer than the phone-like digits inside it.
    result = redactor.redact("card 4111 1111 1111 1111")
    assert [s.type for s in result.spans] == ["CARD"]


# --- config -------------------------------------------------------------------------


def test_config_from_dict():
    config = RedactionConfig.from_dict(
        {
            "types": ["email", "PHONE", "order_id"],
            "phone_regions": ["US", "CA"],
            "phone_leniency": "strict_grouping",
            "order_patterns": r"ORD-\d{4}",
            "name_denylist": ["Pinecrest", "Trailhead"],
        }
    )
    assert config.types == frozenset({"EMAIL", "PHONE", "ORDER_ID"})
    assert config.phone_regions == ("US", "CA")
    assert config.phone_leniency == "STRICT_GROUPING"
    assert config.order_patterns == (r"ORD-\d{4}",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.types = frozenset()  # type: ignore[misc]


@pytest.mark.parametrize(
    "data",
    [
        {"typo": 1},
        {"types": ["EMAIL", "SSN"]},
        {"phone_regions": ["XX"]},
        {"phone_leniency": "LOOSE"},
        {"order_patterns": ["PC-(\\d"]},
        {"ner_batch_size": 0},
        {"ner_batch_size": "64"},
        {"phone_international_possible": "yes"},
    ],
)
def test_config_rejects_bad_values(data):
    with pytest.raises(ConfigError):
        RedactionConfig.from_dict(data)


def test_disabled_types_stay_and_no_model_is_loaded():
    config = RedactionConfig.from_dict({"types": ["EMAIL"]})
    redactor = Redactor(config)
    result = redactor.redact("Anna Schmidt, anna@example.com, +49 30 12345678, PC-123456")
    assert result.text == "Anna Schmidt, [EMAIL_1], +49 30 12345678, PC-123456"


def test_custom_order_and_account_patterns(redactor):
    config = RedactionConfig(
        types=frozenset({"ORDER_ID", "ACCOUNT_ID"}),
        order_patterns=(r"\bORD\d{4}\b",),
        account_patterns=(r"\bCUST-[A-Z]{3}\d{3}\b",),
    )
    result = Redactor(config).redact("ORD1234 on CUST-ABC123, not PC-123456")
    assert result.text == "[ORDER_ID_1] on [ACCOUNT_ID_1], not PC-123456"


# --- names (real model) -------------------------------------------------------------


def test_missing_model_package_gives_a_clear_error():
    with pytest.raises(ModelPackageMissingError, match="not installed"):
        find_model_path("no_such_model_package_xyz")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Hi Anna, where is my parcel?", ["Anna"]),
        ("Thanks, Marco", ["Marco"]),
        ("Best regards,\nHannah Becker\nPinecrest Customer Care", ["Hannah Becker"]),
        ("my name is john smith and i need help", ["john smith"]),
        ("I spoke with Tom from billing yesterday.", ["Tom"]),
        ("Dear Dr. Patel, your order is ready.", ["Patel"]),
        ("Elena Petrova's account was charged twice.", ["Elena Petrova"]),
    ],
)
def test_names_are_found(nlp_redactor, text, names):
    found = [text[s.start : s.end] for s in nlp_redactor.redact(text).spans if s.type == "PERSON"]
    assert found == names


@pytest.mark.parametrize(
    "text",
    [
        "The Pinecrest app keeps crashing.",
        "Is the Aurora down jacket available in navy?",
        "I bought the Trailhead 45 backpack.",
        "Best regards,\nThe Pinecrest Team",
        "Meine Adresse ist Lindenstrasse 5a, 80331 München.",
        "Can I pay with Visa or Mastercard?",
        "Hello, is anyone there? Thanks for your help!",
    ],
)
def test_company_products_and_greetings_are_not_names(nlp_redactor, text):
    assert [s for s in nlp_redactor.redact(text).spans if s.type == "PERSON"] == []


# --- the annotated set --------------------------------------------------------------


def test_annotated_set_offsets_are_exact():
    bench = load_bench()
    records = bench.load(DATA)
    assert len(records) >= 300
    for text, spans in records:
        for s in spans:
            value = text[s.start : s.end]
            assert value and value == value.strip(), (text, s)


def test_annotated_set_meets_targets(nlp_redactor):
    bench = load_bench()
    records = bench.load(DATA)
    results = nlp_redactor.redact_many([text for text, _ in records])
    predictions = [[bench.Span(s.type, s.start, s.end) for s in r.spans] for r in results]
    tallies, _ = bench.evaluate(records, predictions)
    _, scores = bench.table(tallies)
    for pii_type in ("EMAIL", "PHONE", "CARD", "IBAN"):
        assert scores[pii_type]["recall"] >= 0.99, (pii_type, scores[pii_type])
    assert scores["PERSON"]["recall"] >= 0.90, scores["PERSON"]
    assert scores["ALL (micro)"]["precision"] >= 0.95, scores["ALL (micro)"]
