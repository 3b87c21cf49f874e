from __future__ import annotations

import re

from training.discover import key_terms, name_clusters

TRACK = [
    "where is my order [ORDER_ID_1]",
    "track my order",
    "can you track order [ORDER_ID_1] for me",
    "please track my order, it is late",
]
REFUND = [
    "I want a refund",
    "refund request for my boots",
    "how do I request a refund",
    "refund please, the tent leaked",
]
GREET = ["hi", "hello", "hi there", "hello!"]


def test_key_terms_are_distinctive_and_free_of_placeholders():
    terms = key_terms([TRACK, REFUND])
    assert terms[0][0] in {"track", "order", "track order"}
    assert "refund" in terms[1][:2]
    flat = " ".join(t for ts in terms for t in ts)
    assert "order_id" not in flat and "[" not in flat
    assert "my" not in flat.split()


def test_names_are_snake_case_in_spoken_word_order():
    clusters = [TRACK, REFUND]
    names = name_clusters(key_terms(clusters), clusters)
    assert names[0] == "track_order"
    assert names[1] in {"refund_request", "request_refund"}
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)


def test_clusters_of_fillers_are_still_named_from_them():
    clusters = [TRACK, GREET]
    names = name_clusters(key_terms(clusters), clusters)
    assert "hello" in names[1] or "hi" in names[1]


def test_names_are_unique_even_for_lookalike_clusters():
    clusters = [TRACK, TRACK[::-1], TRACK[1:], REFUND]
    names = name_clusters(key_terms(clusters), clusters, reserved=["refund_request"])
    assert len(set(names)) == 4
    assert "refund_request" not in names


def test_clusters_without_terms_get_numbered_names():
    clusters = [["?!", "..."], ["123", "456"]]
    names = name_clusters(key_terms(clusters), clusters)
    assert len(set(names)) == 2
    assert all(n.startswith("cluster_") for n in names)


def test_names_do_not_repeat_a_word_in_two_forms():
    payments = ["payment methods?", "which payments do you take", "payment options", "payments"]
    clusters = [payments, REFUND]
    names = name_clusters(key_terms(clusters), clusters)
    assert names[0].count("payment") == 1
    assert names[0] in {"payment_methods", "payment_options", "payments_methods"}
