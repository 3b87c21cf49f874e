"""Generation pairs: exact format, context window, redaction; PII never leaves."""

import json

from tests.training.prepare.conftest import DATA
from training.ingest import Turn
from training.prepare.pairs import Pair, conversation_pairs
from training.prepare.redact import RedactedConversation

INPUT = DATA / "prepare_pii.jsonl"
PLANTED = [
    "Anna",
    "Schmidt",
    "Marco",
    "Rossi",
    "anna.schmidt@example.com",
    "marco.rossi@example.org",
    "j.doe@example.net",
    "7946",
    "4111 1111 1111 1111",
    "PC-482913",
    "ACC-12345678",
    "DE89 3704",
]


def _conversation(roles: str) -> RedactedConversation:
    turns = tuple(
        Turn("customer" if r == "c" else "agent", f"t{i}", None, "i" if r == "c" else None)
        for i, r in enumerate(roles)
    )
    return RedactedConversation("conv", "web", turns, pii=None)  # type: ignore[arg-type]


def test_context_is_the_last_n_turns_before_the_customer_message():
    pairs = list(conversation_pairs(_conversation("cacacca"), context_turns=2))
    assert [(p.customer, p.agent) for p in pairs] == [("t0", "t1"), ("t2", "t3"), ("t5", "t6")]
    assert pairs[0].context == ()
    assert pairs[1].context == (("customer", "t0"), ("agent", "t1"))
    assert pairs[2].context == (("agent", "t3"), ("customer", "t4"))
    assert all(p.context == () for p in conversation_pairs(_conversation("caca"), 0))
    assert list(conversation_pairs(_conversation("aacc"), 4)) == []


def test_pair_json_has_exactly_the_agreed_keys():
    line = Pair("c-1", None, (("agent", "hi"),), "where?", "here.", None).to_json()
    assert json.loads(line) == {
        "conversation_id": "c-1",
        "channel": None,
        "context": [{"role": "agent", "text": "hi"}],
        "customer": "where?",
        "agent": "here.",
        "intent": None,
    }


def test_pairs_from_a_conversation_are_redacted_with_its_placeholders(run_prepare, tmp_path):
    out = tmp_path / "out"
    run_prepare(INPUT, out, test_fraction=0.0, context_turns=2)
    pairs = [json.loads(x) for x in (out / "generation" / "pairs.jsonl").open()]
    first = [p for p in pairs if p["conversation_id"] == "p-1"]
    assert [p["intent"] for p in first] == ["order_status", "inform_phone", "request_refund"]
    assert first[0]["customer"] == (
        "Hi, my name is [PERSON_1] and I want to know where my order [ORDER_ID_1] is."
    )
    assert "[ORDER_ID_1]" in first[0]["agent"] and "[EMAIL_1]" in first[0]["agent"]
    assert first[1]["customer"] == "Great, you can also call me on [PHONE_1]."
    assert first[1]["agent"] == "Noted, we will call [PHONE_1] if needed."
    assert [c["role"] for c in first[2]["context"]] == ["customer", "agent"]
    assert first[2]["context"][1]["text"] == "Noted, we will call [PHONE_1] if needed."
    assert first[2]["customer"] == "Please refund my card [CARD_1] instead."
    for pair in pairs:
        assert set(pair) == {"conversation_id", "channel", "context", "customer", "agent", "intent"}


def test_planted_pii_reaches_no_output_and_no_report(run_prepare, tmp_path):
    out = tmp_path / "out"
    result = run_prepare(INPUT, out, test_fraction=0.5)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 8  # seven outputs and the manifest
    everything = "\n".join(p.read_text(encoding="utf-8") for p in files)
    leaked = [value for value in PLANTED if value in everything]
    assert leaked == []
    assert "[IBAN_1]" in everything and "[ACCOUNT_ID_1]" in everything
    assert result.report.pii["EMAIL"] == 3
    report = json.loads((out / "prepare_report.json").read_text())
    assert report["pii_redacted"]["PHONE"] == 2
    assert report["pii_redacted"]["PERSON"] >= 3
    assert "| CARD | 1 |" in (out / "prepare_report.md").read_text()


def test_pseudonyms_replace_planted_pii_with_fakes(tmp_path):
    from training.__main__ import main

    out = tmp_path / "out"
    argv = ["prepare", "--input", str(INPUT), "--out", str(out), "--pseudonyms"]
    assert main([*argv, "--no-near-dedupe", "--test-fraction", "0"]) == 0
    written = "\n".join(p.read_text() for p in out.rglob("*") if p.is_file())
    # single names and short digit runs could recur by chance inside random fakes
    values = [v for v in PLANTED if v not in ("Anna", "Schmidt", "Marco", "Rossi", "7946")]
    for value in [*values, "Anna Schmidt", "Marco Rossi", "7946 0958"]:
        assert value not in written, value
    assert "[PERSON_" not in written and "[EMAIL_" not in written  # fakes, not placeholders
    assert "@example.com" in written and "+44 7700 900" in written
