"""Unit tests of the rule-based PII detectors (no spaCy model needed)."""

from __future__ import annotations

import pytest

from common.privacy.detectors import (
    AddressDetector,
    CardDetector,
    EmailDetector,
    IbanDetector,
    PatternDetector,
    PhoneDetector,
    TokenUrlDetector,
    find_placeholders,
    iban_valid,
    luhn_valid,
    url_has_secret,
)


def spans(detections, text):
    return [text[d.start : d.end] for d in detections]


# --- Luhn and cards ------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"],
)
def test_luhn_accepts_valid_numbers(number):
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "5555-5555-5555-4445", "12ab", ""])
def test_luhn_rejects_invalid_numbers(number):
    assert not luhn_valid(number)


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",  # Visa, spaces
        "4012-8888-8888-1881",  # Visa, dashes
        "5105105105105100",  # Mastercard, plain
        "2223 0031 2200 3222",  # Mastercard 2-series
        "3782 822463 10005",  # Amex 4-6-5
        "6011 1111 1111 1117",  # Discover
        "4222222222222",  # Visa, 13 digits
    ],
)
def test_card_detector_finds_cards_in_many_formats(card):
    text = f"Please refund card {card}, expiry 09/27."
    assert spans(CardDetector().detect(text), text) == [card]


@pytest.mark.parametrize(
    "text",
    [
        "Is 4111 1111 1111 1112 a valid card?",  # Luhn fails
        "Serial 4410-2231-0098 on the stove base.",
        "Order total 1,249.00 for 3 items on 12/03/2024.",
        "Ticket 1234567812345678 is not a card: bad issuer and checksum.",
    ],
)
def test_card_detector_ignores_decoys(text):
    assert CardDetector().detect(text) == []


def test_card_detector_splits_card_from_following_digits():
    text = "card 4111 1111 1111 1111 12 26"
    assert spans(CardDetector().detect(text), text) == ["4111 1111 1111 1111"]


# --- IBAN -----------------------------------------------------------------------------

VALID_IBANS = [
    "DE89 3704 0044 0532 0130 00",
    "GB82 WEST 1234 5698 7654 32",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91ABNA0417164300",
    "ES9121000418450200051332",
    "BE68 5390 0754 7034",
]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_iban_checksum_accepts_valid(iban):
    assert iban_valid(iban)
    assert iban_valid(iban.lower())


@pytest.mark.parametrize(
    "iban",
    [
        "DE88 3704 0044 0532 0130 00",  # check digits off by one
        "GB82 WEST 1234 5698 7654 33",  # last digit changed
        "DE89 3704 0044 0532 0130 0",  # too short for DE
        "XX89 3704 0044 0532 0130 00",  # not an IBAN country... and bad checksum
    ],
)
def test_iban_checksum_rejects_invalid(iban):
    assert not iban_valid(iban)


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_iban_detector_finds_ibans_with_and_without_spaces(iban):
    text = f"Refund to IBAN {iban} please, thanks"
    assert spans(IbanDetector().detect(text), text) == [iban]


def test_iban_detector_ignores_invalid_checksum_and_codes():
    text = "Old IBAN DE88 3704 0044 0532 0130 00, tracking PX4410ZQ77 but it is lost."
    assert IbanDetector().detect(text) == []


# --- Phones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "(212) 555-0147",
        "212.555.0123",
        "+1 212 555 0175",
        "+12125550163",
        "020 7946 0958",
        "+44 20 7946 0321",
        "+49 30 12345678",
        "0171 2345678",
        "06 12 34 56 78",
        "+33 1 99 00 12 34",
        "04.72.00.12.34",
        "+31 20 123 4567",
        "06-12345678",
        "+34 612 345 678",
    ],
)
def test_phone_detector_finds_numbers_in_many_formats(phone):
    text = f"Call me on {phone} tomorrow."
    assert spans(PhoneDetector().detect(text), text) == [phone]


def test_phone_detector_keeps_written_extension():
    text = "Office line (312) 555-0142 x204, mobile 312-555-0166."
    assert spans(PhoneDetector().detect(text), text) == ["(312) 555-0142 x204", "312-555-0166"]


def test_phone_regions_are_configurable():
    text = "Bitte rufen Sie 030 23125000 an."
    assert spans(PhoneDetector(regions=("DE",)).detect(text), text) == ["030 23125000"]
    assert PhoneDetector(regions=("US",)).detect(text) == []


def test_international_numbers_parse_in_any_region():
    text = "Dublin office: +353 1 234 5678"
    assert spans(PhoneDetector(regions=("US",)).detect(text), text) == ["+353 1 234 5678"]


def test_possible_international_numbers_are_kept_unless_disabled():
    text = "UK mobile +44 7700 900456"  # Ofcom drama range: possible, not assigned
    assert spans(PhoneDetector().detect(text), text) == ["+44 7700 900456"]
    assert PhoneDetector(international_possible=False).detect(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Invoice dated 25.12.2023 shows the wrong rate.",
        "Membership renews on 01.04.2025.",
        "Reference 2024-03-15 in your letter.",
        "The jacket costs $129.99, the boots 189.00 GBP.",
        "Order PC-123456 and account ACC-10482733.",
        "Card 4111 1111 1111 1111 was charged.",
        "Is 4926 9625 5616 6640 a valid card number?",
        "IBAN DE89 3704 0044 0532 0130 00.",
        "Product ID 7734412, SKU 100234-56, batch 20240315-A.",
        "Store hours 09:00-18:00, size 42, 1,250 points, in 2019.",
    ],
)
def test_phone_detector_does_not_take_other_numbers_for_phones(text):
    assert PhoneDetector().detect(text) == []


def test_phone_key_is_the_same_for_national_and_international_forms():
    det = PhoneDetector()
    a = det.detect("call 0171 2345678")[0]
    b = det.detect("call +49 171 2345678")[0]
    assert a.key == b.key


# --- Emails ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "anna.schmidt@example.com",
        "marco.rossi+orders@example.org",
        "priya_n@mail.example.co.uk",
        "J.OKAFOR@EXAMPLE.NET",
        "noreply+bounce-1234@notifications.example.com",
    ],
)
def test_email_detector(email):
    text = f"Mail <{email}>, thanks."
    assert spans(EmailDetector().detect(text), text) == [email]


def test_email_detector_ignores_non_addresses():
    assert EmailDetector().detect("Meet @ 5pm, user@localhost, a@b") == []


@pytest.mark.parametrize(
    ("text", "email", "key"),
    [
        (
            "write to ravi dot menon at example dot com pls",
            "ravi dot menon at example dot com",
            "ravi.menon@example.com",
        ),
        ("it's k.obi [at] example [dot] org", "k.obi [at] example [dot] org", "k.obi@example.org"),
        ("mail lenka (at) example.net thanks", "lenka (at) example.net", "lenka@example.net"),
        (
            "HUGO_B AT EXAMPLE DOT CO DOT UK",
            "HUGO_B AT EXAMPLE DOT CO DOT UK",
            "hugo_b@example.co.uk",
        ),
        ("reply to t.nakamura at example.jp", "t.nakamura at example.jp", "t.nakamura@example.jp"),
        (
            "email me at ana dot ruiz at example dot org",
            "ana dot ruiz at example dot org",
            "ana.ruiz@example.org",
        ),
    ],
)
def test_email_detector_finds_spelled_out_addresses(text, email, key):
    found = EmailDetector().detect(text)
    assert spans(found, text) == [email]
    assert found[0].key == key


@pytest.mark.parametrize(
    "text",
    [
        "have a look at google.com",
        "I ordered it at amazon.co.uk last week",
        "it was 4.50 at shop.example.com",
        "we'll meet at the shop dot com stand",
        "arrive at 5 pm. Dot said hi",
    ],
)
def test_email_detector_leaves_ordinary_at_alone(text):
    assert EmailDetector().detect(text) == []


def test_a_spelled_out_address_shares_the_plain_one_s_key():
    text = "ravi.menon@example.com, or ravi dot menon at example dot com"
    plain, spelled = EmailDetector().detect(text)
    assert plain.key == spelled.key


# --- Order and account numbers --------------------------------------------------------


def test_pattern_detector_orders_case_insensitive():
    det = PatternDetector("ORDER_ID", [r"(?i)(?<![\w-])PC-\d{6}(?!\d)"])
    text = "Orders PC-123456 and pc-654321, not PC-12345 or APC-1234567."
    assert spans(det.detect(text), text) == ["PC-123456", "pc-654321"]
    assert {d.type for d in det.detect(text)} == {"ORDER_ID"}


# --- URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://pinecrest.example/reset?token=8f3kQ2xLm9Zp4Rt7Vb1N",
        "https://app.example.com/login?session=abc",
        "https://api.example.com/v1?api_key=sk_live_51HxQ2k",
        "https://x.example/cb#access_token=ya29.a0AfH6&expires_in=3599",
        "https://x.example/track?order=1&sig=4f9a1c2e",
        "http://x.example/pw?password=Summer2024!",
        "https://files.example.net/d/9fK2mQ7xLp4RtZ8vB1nC/invoice.pdf",
        "https://docs.example.org/share/3b1f7c9e-2a4d-4e8b-9c6f-1d2e3f4a5b6c",
        "https://user:secret@example.com/",
    ],
)
def test_url_with_secret(url):
    assert url_has_secret(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://pinecrest.example/help",
        "https://pinecrest.example/size-guide?lang=de",
        "www.pinecrest.example/tents/trailhead-2p",
        "https://pinecrest.example/blog/2024/03/packing-list",
        "https://pinecrest.example/returns?page=2&sort=asc",
        "https://pinecrest.example/category/lightweight-backpacking-equipment",
    ],
)
def test_plain_url_stays(url):
    assert not url_has_secret(url)


def test_token_url_detector_strips_trailing_punctuation():
    text = "The link (https://pinecrest.example/verify?token=Q1w2E3r4T5y6U7i8O9p0) expired."
    assert spans(TokenUrlDetector().detect(text), text) == [
        "https://pinecrest.example/verify?token=Q1w2E3r4T5y6U7i8O9p0"
    ]


# --- Addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "1420 Maple Avenue, Apt 4B, Springfield, IL 62704",
        "77 Elm St, Boston, MA 02118",
        "221B Baker Street, London NW1 6XE",
        "Flat 3, 27 Church Lane, Leeds LS1 4AP",
        "Hauptstraße 12, 10115 Berlin",
        "Bahnhofstr. 7, 04109 Leipzig",
        "12 rue de la Paix, 75002 Paris",
        "Keizersgracht 123, 1015 CJ Amsterdam",
        "Calle Mayor 5, 28013 Madrid",
        "SW1A 1AA",
    ],
)
def test_address_detector_finds_whole_address(address):
    text = f"Please ship to {address}."
    assert spans(AddressDetector().detect(text), text) == [address]


@pytest.mark.parametrize(
    "text",
    [
        "I ordered 3 pairs of socks in size 42.",
        "Charlotte Street store or the Kings Cross one?",
        "Spring 2024 collection, 2 Person tent.",
        "Item 3 of 4 is missing, ticket 4471.",
    ],
)
def test_address_detector_ignores_non_addresses(text):
    assert AddressDetector().detect(text) == []


# --- Placeholders ---------------------------------------------------------------------


def test_find_placeholders():
    text = "Hi [PERSON_1], {{Order Number}} shipped to [ADDRESS_2]."
    found = [text[s:e] for s, e in find_placeholders(text)]
    assert found == ["[PERSON_1]", "{{Order Number}}", "[ADDRESS_2]"]


def test_detection_repr_hides_the_value():
    det = EmailDetector().detect("mail anna@example.com")[0]
    assert "anna" not in repr(det)
