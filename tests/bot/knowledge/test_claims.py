"""Checkable items: extraction, normalisation, and support by the sources."""

from __future__ import annotations

import pytest

from bot.knowledge.claims import ClaimExtractor, number_value, unsupported_claims, url_key


def keys(text: str, products: tuple[str, ...] = ()) -> list[str]:
    return [c.key for c in ClaimExtractor(products).extract(text)]


def missing(answer: str, *sources: str, products: tuple[str, ...] = ()) -> list[str]:
    return [c.text for c in unsupported_claims(answer, list(sources), products)]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("4.95", "4.95"),
        ("4,95", "4.95"),
        ("4.950", "4.95"),
        ("75.00", "75"),
        ("1,000", "1000"),
        ("1,000.50", "1000.5"),
        ("1.000,50", "1000.5"),
        ("two", "2"),
        ("Thirty", "30"),
        ("-5", "-5"),
        ("0.0", "0"),
        ("100", "100"),
        ("abc", None),
    ],
)
def test_number_formats_normalise_to_one_value(written, value):
    assert number_value(written) == value


def test_each_kind_is_extracted_with_its_key():
    text = (
        "Standard shipping costs €4.95 and takes 5–7 business days, see "
        "https://www.pinecrest.example/shipping. Returns are 10% off for 30 days; "
        "email help@pinecrest.example about order PC-123456. The Ridge 2 Tent sleeps "
        "2 people and is rated to -5 °C. We offer free returns."
    )
    found = keys(text, products=("Ridge 2 Tent",))
    assert found == [
        "email:help@pinecrest.example",
        "url:pinecrest.example/shipping",
        "product:ridge 2 tent",
        "code:PC123456",
        "price:EUR:4.95",
        "percent:10",
        "duration:5-7:day",
        "duration:30-30:day",
        "quantity:2:person",
        "quantity:-5:°c",
        "policy:free returns",
    ]


def test_list_markers_and_placeholders_are_not_claims():
    assert keys("1. Wash cold.\n2. Dry flat.\nYour order [ORDER_1] is {{order_id}}.") == []


def test_policy_terms_in_a_question_are_not_claims():
    assert keys("Would you like a refund or an exchange?") == []
    assert keys("You can have a refund.") == ["policy:refund"]


def test_capitalised_names_skip_sentence_starters():
    assert keys("Our Alpine Storm Parka is new.") == ["name:alpine storm parka"]
    assert keys("Yes, the Trail Runner Mid fits wide feet.") == ["name:trail runner mid"]
    assert keys("Thank You for asking. The EU and UK are covered.") == []


def test_the_invented_warranty_length_is_caught():
    passage = "Down jackets: our warranty covers manufacturing faults for 2 years."
    assert missing("Our down jackets come with a 5-year warranty.", passage) == ["5-year"]


def test_a_paraphrase_with_the_same_facts_is_supported():
    passages = [
        "Down jackets: our warranty covers manufacturing faults for 2 years.",
        "Standard delivery takes 5 to 7 business days and costs 4,95 EUR.",
    ]
    answer = (
        "Your down jacket has a two-year warranty. Delivery is €4.95 and arrives in "
        "5-7 days, so within 7 days at most."
    )
    assert missing(answer, *passages) == []


@pytest.mark.parametrize(
    ("answer", "source"),
    [
        ("The warranty lasts 24 months.", "The warranty lasts 2 years."),
        ("Allow 2 weeks.", "Allow 14 days."),
        ("It costs 4,95 €.", "It costs €4.95."),
        ("Delivery takes 5–7 business days.", "Delivery takes 5 - 7 business days."),
        ("Add 2 tennis balls.", "Add two clean tennis balls."),
        ("Rated to −5°C.", "Comfort rating: -5 °C."),
        ("Rated to 2°.", "Comfort 2 °C."),
        ("See HTTPS://Pinecrest.example/Returns/.", "pinecrest.example/returns"),
        ("Visit pinecrest.example for more.", "https://pinecrest.example/care/down"),
        ("We offer free returns.", "Returns are free within 30 days."),
        ("Refunds arrive in 3 days.", "We refund within 3 days."),
        ("It takes 30 days.", "Thirty days."),
    ],
)
def test_normalised_items_are_supported(answer, source):
    assert missing(answer, source) == []


@pytest.mark.parametrize(
    ("answer", "source", "item"),
    [
        ("Shipping costs €5.95.", "Shipping costs €4.95.", "€5.95"),
        ("Shipping costs $4.95.", "Shipping costs €4.95.", "$4.95"),
        ("Delivery takes 10 days.", "Delivery takes 5-7 days.", "10 days"),
        ("Delivery takes 3-5 days.", "Delivery takes 5-7 days.", "3-5 days"),
        (
            "Read https://pinecrest.example/warranty.",
            "https://pinecrest.example/returns",
            "https://pinecrest.example/warranty",
        ),
        (
            "Write to sales@pinecrest.example.",
            "Write to help@pinecrest.example.",
            "sales@pinecrest.example",
        ),
        ("It is 20% off.", "It is 10% off.", "20%"),
        ("The shell is rated 5000 mm.", "The shell is rated 3000 mm.", "5000 mm"),
        ("The tent weighs 2.1 kg.", "The tent weighs 2.4 kg.", "2.1 kg"),
        ("Our tents have a lifetime warranty.", "Tents: 2-year warranty.", "lifetime warranty"),
        ("We price match.", "Prices include VAT.", "price match"),
    ],
)
def test_invented_items_are_unsupported(answer, source, item):
    assert missing(answer, source) == [item]


def test_product_names_must_be_in_the_sources():
    products = ("Summit Down Jacket", "Ridge 2 Tent")
    source = "Summit Down Jacket: 800-fill down, 2-year warranty."
    assert missing("The Summit Down Jacket has 800-fill down.", source, products=products) == []
    assert missing("The Ridge 2 Tent has 800-fill down.", source, products=products) == [
        "Ridge 2 Tent"
    ]
    assert missing("Try the Alpine Storm Parka.", source) == ["Alpine Storm Parka"]


def test_items_from_the_conversation_count_as_supported():
    conversation = ["my order PC-123456 hasn't arrived", "I want a refund"]
    answer = "I'm sorry order PC-123456 is late. You can ask for a refund."
    assert missing(answer, "Late orders: contact us.", *conversation) == []
    assert missing(answer, "Late orders: contact us.") == ["PC-123456", "refund"]


def test_url_keys():
    assert url_key("HTTPS://WWW.Pinecrest.example/Returns/.") == "pinecrest.example/returns"
