import json
from pathlib import Path

import pytest

from training.ingest import FORMATS, detect_format, read_conversations
from training.ingest.detect import is_binary
from training.ingest.reader import READERS

FIXTURES = Path(__file__).parent / "fixtures"


def test_every_format_has_a_reader():
    assert set(READERS) == set(FORMATS)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("conversations.jsonl", "jsonl"),
        ("pairs.csv", "csv"),
        ("taskmaster_like.json", "taskmaster"),
        ("email/plain.eml", "eml"),
        ("thread.mbox", "mbox"),
        ("slack_export/support/2024-05-01.json", "slack"),
    ],
)
def test_detect_by_extension_and_json_content(name, expected):
    path = FIXTURES / name
    assert detect_format(path, path.read_bytes()[:8192]) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("conversations.jsonl", "jsonl"),
        ("pairs.csv", "csv"),
        ("taskmaster_like.json", "taskmaster"),
        ("email/html_only.eml", "eml"),
        ("thread.mbox", "mbox"),
    ],
)
def test_detect_by_sniffing_without_extension(tmp_path, source, expected):
    path = tmp_path / "export"
    data = (FIXTURES / source).read_bytes()
    path.write_bytes(data)
    assert detect_format(path, data[:8192]) == expected


def test_unrecognised_and_binary():
    assert detect_format(Path("notes.txt"), b"hello world\n") is None
    assert is_binary(b"\x00\x01\x02abc")
    assert not is_binary("caf\u00e9\n".encode())


def test_forced_format_reads_a_misnamed_file(tmp_path):
    path = tmp_path / "dump.txt"
    path.write_text(json.dumps({"id": "f", "turns": [{"role": "agent", "text": "hello"}]}) + "\n")
    assert [c.id for c in read_conversations(path, format="jsonl")] == ["f"]


def test_whole_fixture_folder_is_read_file_by_file():
    from collections import Counter

    from training.ingest import IngestReport

    report = IngestReport()
    conversations = list(read_conversations(FIXTURES, report=report))
    assert Counter(c.channel for c in conversations) == {
        "web": 1,
        "unknown": 1,
        "csv": 2,
        "taskmaster": 2,
        "email": 7,
        "slack": 3,
    }
    assert report.accepted == len(conversations)
    assert report.total_rejected == 3 + 2 + 3 + 1 + 1
