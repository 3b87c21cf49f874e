"""Exact and near duplicates, the per-intent cap and the stratified split."""

import json
from collections import Counter

import numpy as np
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from training.prepare.balance import cap, long_tail
from training.prepare.dedupe import near_duplicate_mask, normalise, text_hash
from training.prepare.split import held_out, stratified_split


def _conversation(cid: str, text: str, intent: str | None) -> str:
    turn = {"role": "customer", "text": text}
    if intent:
        turn["intent"] = intent
    return json.dumps({"id": cid, "turns": [turn, {"role": "agent", "text": f"reply {cid}"}]})


def _examples(path):
    data = RasaYAMLReader().reads(path.read_text())
    return Counter(m.get("intent") for m in data.intent_examples), [
        m.get("text") for m in data.intent_examples
    ]


def test_normalise_folds_case_punctuation_and_spacing():
    assert normalise("  Where IS my   order?!") == normalise("where is my order")
    assert text_hash("Where is my [ORDER_ID_1]?") != text_hash("Where is my ORDER_ID_1")


def test_near_duplicate_mask_keeps_the_first_across_blocks():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(6, 16)).astype(np.float32)
    rows = np.concatenate([base, base[[0, 3]] + 0.001, base[[5]]])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    for block in (1, 2, 3, 100):
        mask = near_duplicate_mask(rows, threshold=0.99, block=block)
        assert mask.tolist() == [True] * 6 + [False, False, False]
    assert near_duplicate_mask(rows, threshold=1.01).all()


def test_pipeline_removes_exact_near_and_conflicting_examples(run_prepare, tmp_path):
    lines = [
        _conversation("1", "Where is my order?", "order_status"),
        _conversation("2", "where is my ORDER", "order_status"),  # exact after folding
        _conversation("3", "my order where is it", "order_status"),
        _conversation("4", "where is it my order", "order_status"),  # same words as 3
        _conversation("5", "Where is my order", "cancel_order"),  # conflicting label
        _conversation("6", "cancel it now", "cancel_order"),
        _conversation("7", "hello there", None),
        _conversation("8", "Hello there!", None),  # exact duplicate opener
        _conversation("9", "there hello", None),  # near duplicate opener
        _conversation("10", "cancel it now", None),  # already labelled
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"

    result = run_prepare(path, out, test_fraction=0.0)

    counts, texts = _examples(out / "nlu" / "prepared.yml")
    assert counts == {"order_status": 2, "cancel_order": 1}
    assert texts == ["cancel it now", "Where is my order?", "my order where is it"]
    order = result.report.intents["order_status"]
    assert (order.found, order.exact_duplicates, order.near_duplicates) == (4, 1, 1)
    assert result.report.intents["cancel_order"].conflicts == 1
    openers = [json.loads(x)["text"] for x in (out / "unlabelled_openers.jsonl").open()]
    assert openers == ["hello there"]
    assert result.report.unlabelled == {
        "found": 4,
        "exact_duplicates": 1,
        "near_duplicates": 1,
        "already_labelled": 1,
        "kept": 1,
    }
    report = json.loads((out / "prepare_report.json").read_text())
    assert report["nlu"]["duplicates_removed"]["exact"] == 2
    assert report["nlu"]["duplicates_removed"]["near"] == 2


def test_cap_is_seeded_and_keeps_order():
    items = list(range(100))
    kept = cap(items, 10, seed=1, group="a")
    assert len(kept) == 10 and kept == sorted(kept)
    assert kept == cap(items, 10, seed=1, group="a")
    assert kept != cap(items, 10, seed=2, group="a")
    assert cap(items, None, 1, "a") == items
    assert long_tail({"a": 3, "b": 50, "c": 1}, below=20) == {"c": 1, "a": 3}


def test_stratified_split_is_deterministic_and_handles_small_intents():
    items = [f"x{i}" for i in range(50)]
    split = stratified_split(items, 0.2, seed=42, group="a", min_examples=5)
    assert (len(split.train), len(split.test)) == (40, 10)
    assert set(split.train).isdisjoint(split.test)
    assert split == stratified_split(items, 0.2, seed=42, group="a", min_examples=5)
    assert split.test != stratified_split(items, 0.2, 43, "a", 5).test
    small = stratified_split(items[:4], 0.2, seed=42, group="a", min_examples=5)
    assert (small.train, small.test, small.too_few) == (items[:4], [], True)
    tiny_fraction = stratified_split(items[:5], 0.01, seed=42, group="a", min_examples=5)
    assert len(tiny_fraction.test) == 1
    shares = [held_out(f"c{i}", 0.25, seed=3) for i in range(4000)]
    assert 0.22 < sum(shares) / len(shares) < 0.28
    assert shares == [held_out(f"c{i}", 0.25, seed=3) for i in range(4000)]


def test_pipeline_caps_and_splits_per_intent(run_prepare, tmp_path):
    lines = [_conversation(f"a{i}", f"alpha request number {i} w{i}", "alpha") for i in range(40)]
    lines += [_conversation(f"b{i}", f"beta ask {i} z{i}", "beta") for i in range(20)]
    lines += [_conversation(f"c{i}", f"gamma thing {i} q{i}", "gamma") for i in range(3)]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"

    result = run_prepare(path, out, max_per_intent=30, test_fraction=0.2, long_tail_below=10)

    train, _ = _examples(out / "nlu" / "prepared.yml")
    test, _ = _examples(out / "test" / "nlu_test.yml")
    assert train == {"alpha": 24, "beta": 16, "gamma": 3}
    assert test == {"alpha": 6, "beta": 4}
    assert result.report.intents["alpha"].capped == 10
    assert result.report.intents["gamma"].too_few_to_split
    assert result.report.long_tail == {"gamma": 3}
    report = json.loads((out / "prepare_report.json").read_text())
    assert report["nlu"]["too_few_to_split"] == ["gamma"]
