"""export-feedback: inbox feedback to Rasa NLU YAML (read back by Rasa) and pairs JSONL."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.loading import load_data

from bot.inbox.db import InboxDB
from bot.inbox.feedback import FeedbackStore
from tests.support.inbox import email_redactor
from training.feedback import cli
from training.feedback.export import NLU_FILE, PAIRS_FILE


async def _fill(db: InboxDB) -> None:
    store = FeedbackStore(db, email_redactor())  # type: ignore[arg-type]
    await store.initialize()
    await store.add_correction("t1", "is my parcel on the way?", "greet", "order_status")
    await store.add_correction("t1", "cancel it: mail a@b.example", "deny", "cancel_order")
    await store.add_correction("t2", "is my parcel  on the way?", "greet", "order_status")
    await store.add_correction("t3", 'quote "this": #1', "greet", "complaint")
    await store.add_pair(
        "t1",
        "web:abc",
        "web",
        [("customer", "hi"), ("agent", "Hello!")],
        "where is order PC-123456? mail me at jo@example.com",
        "It left our depot today.",
        "order_status",
    )


async def test_export_writes_rasa_readable_nlu_and_pairs(tmp_path: Path) -> None:
    db = InboxDB(tmp_path / "inbox.db")
    await _fill(db)
    out = tmp_path / "out"
    assert cli.run(argparse.Namespace(db=str(tmp_path / "inbox.db"), out=out)) == 0

    text = (out / NLU_FILE).read_text()
    assert text.startswith('version: "3.1"\n')
    data = RasaYAMLReader().reads(text)
    examples = {(m.get("text"), m.get("intent")) for m in data.intent_examples}
    assert examples == {
        ("is my parcel on the way?", "order_status"),
        ("cancel it: mail [EMAIL_1]", "cancel_order"),
        ('quote "this": #1', "complaint"),
    }
    assert len(load_data(str(out / NLU_FILE)).intent_examples) == 3

    lines = (out / PAIRS_FILE).read_text().splitlines()
    assert len(lines) == 1
    pair = json.loads(lines[0])
    assert set(pair) == {"conversation_id", "channel", "context", "customer", "agent", "intent"}
    assert pair["context"] == [
        {"role": "customer", "text": "hi"},
        {"role": "agent", "text": "Hello!"},
    ]
    assert "jo@example.com" not in pair["customer"] and "[EMAIL_1]" in pair["customer"]
    assert pair["intent"] == "order_status"


def test_export_without_a_database_fails(tmp_path: Path) -> None:
    args = argparse.Namespace(db=str(tmp_path / "missing.db"), out=tmp_path / "out")
    assert cli.run(args) == 2
    assert not (tmp_path / "out").exists()
