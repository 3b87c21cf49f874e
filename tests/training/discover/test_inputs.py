from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from common.errors import ConfigError, TrainingDataError
from training.discover import read_texts
from training.discover.inputs import detect_input_format

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"


def test_openers_jsonl(tmp_path):
    path = tmp_path / "unlabelled_openers.jsonl"
    rows = [{"text": "where is my order", "id": "c1"}, {"text": "  refund please "}, {"id": 3}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\nnot json\n")
    assert detect_input_format(path) == "openers"
    assert read_texts(path) == ["where is my order", "refund please"]


def test_plain_lines_and_csv(tmp_path):
    txt = tmp_path / "openers.txt"
    txt.write_text("hello\n\n  track my order \n")
    assert read_texts(txt) == ["hello", "track my order"]
    csv_path = tmp_path / "openers.csv"
    csv_path.write_text('id,Message\n1,"hi, there"\n2,\n3,refund\n')
    assert read_texts(csv_path) == ["hi, there", "refund"]
    other = tmp_path / "other.csv"
    other.write_text("id,body\n1,hello\n")
    assert read_texts(other, input_format="csv", text_column="body") == ["hello"]
    with pytest.raises(TrainingDataError, match="no text column"):
        read_texts(other, input_format="csv")


def test_transcripts_give_first_customer_turns(tmp_path):
    path = tmp_path / "chats.jsonl"
    conversations = [
        {
            "id": "a",
            "turns": [
                {"role": "agent", "text": "Welcome!"},
                {"role": "customer", "text": "my tent leaks"},
                {"role": "customer", "text": "second message"},
            ],
        },
        {"id": "b", "turns": [{"role": "agent", "text": "only the agent"}]},
        {"id": "c", "turns": [{"role": "customer", "text": "cancel my order"}]},
    ]
    path.write_text("\n".join(json.dumps(c) for c in conversations) + "\n")
    assert detect_input_format(path) == "transcripts"
    assert read_texts(path) == ["my tent leaks", "cancel my order"]


def test_ingest_fixtures_folder_reads(tmp_path):
    folder = tmp_path / "exports"
    shutil.copytree(FIXTURES, folder)
    texts = read_texts(folder)
    assert texts and all(t.strip() == t and t for t in texts)


def test_errors(tmp_path):
    with pytest.raises(TrainingDataError, match="no such file"):
        read_texts(tmp_path / "missing.txt")
    with pytest.raises(ConfigError):
        read_texts(tmp_path, input_format="xml")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    with pytest.raises(TrainingDataError, match="no customer messages"):
        read_texts(empty)
