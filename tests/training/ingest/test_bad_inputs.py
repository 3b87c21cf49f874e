import json
from pathlib import Path

import pytest

from common.errors import ConfigError, TrainingDataError
from training.ingest import IngestOptions, IngestReport, read_conversations

GOOD_LINE = json.dumps({"id": "ok", "turns": [{"role": "customer", "text": "hi"}]})


def _read(path: Path, **kwargs: object) -> tuple[list, IngestReport]:
    report = IngestReport()
    return list(read_conversations(path, report=report, **kwargs)), report


def _reasons(report: IngestReport) -> list[tuple[str, str]]:
    return [(r.location, r.reason) for r in report.rejections]


def test_binary_file_is_rejected_even_when_forced(tmp_path):
    path = tmp_path / "photo.jsonl"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    for fmt in ("auto", "jsonl"):
        conversations, report = _read(path, format=fmt)
        assert conversations == []
        assert _reasons(report) == [("file", "binary_file")]


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    conversations, report = _read(path)
    assert conversations == []
    assert _reasons(report) == [("file", "empty_file")]


def test_truncated_json_line_does_not_stop_the_run(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(GOOD_LINE + '\n{"id": "x", "turns": [{"role": "cus\n' + GOOD_LINE + "\n")
    conversations, report = _read(path)
    assert len(conversations) == 2
    assert _reasons(report) == [("line 2", "bad_json")]


def test_wrong_encoding_line_is_rejected(tmp_path):
    path = tmp_path / "t.jsonl"
    latin1 = '{"id": "x", "turns": [{"role": "customer", "text": "caf\u00e9"}]}'.encode("latin-1")
    path.write_bytes(latin1 + b"\n" + GOOD_LINE.encode() + b"\n")
    conversations, report = _read(path)
    assert [c.id for c in conversations] == ["ok"]
    assert _reasons(report) == [("line 1", "undecodable")]


def test_wrong_encoding_csv_row_is_rejected_and_encoding_is_configurable(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(
        "instruction,response,intent\ncaf\u00e9?,oui,x\nhi,hello,greet\n".encode("cp1252")
    )
    conversations, report = _read(path)
    assert [c.turns[0].text for c in conversations] == ["hi"]
    assert _reasons(report) == [("row 1", "undecodable")]
    conversations, report = _read(path, options=IngestOptions(csv_encoding="cp1252"))
    assert [c.turns[0].text for c in conversations] == ["caf\u00e9?", "hi"]
    assert report.total_rejected == 0


def test_five_megabyte_line_is_rejected_as_too_large(tmp_path):
    path = tmp_path / "big.jsonl"
    huge = json.dumps({"id": "big", "turns": [{"role": "customer", "text": "x" * 5_000_000}]})
    path.write_text(GOOD_LINE + "\n" + huge + "\n" + GOOD_LINE + "\n")
    conversations, report = _read(path)
    assert [c.id for c in conversations] == ["ok", "ok"]
    assert _reasons(report) == [("line 2", "too_large")]
    conversations, report = _read(path, options=IngestOptions(max_record_bytes=6_000_000))
    assert len(conversations) == 3
    assert len(conversations[1].turns[0].text) == 5_000_000


def test_too_large_dialogue_in_json_array(tmp_path):
    path = tmp_path / "dialogues.json"
    small = {"conversation_id": "a", "utterances": [{"speaker": "user", "text": "hi"}]}
    big = {"conversation_id": "b", "utterances": [{"speaker": "user", "text": "y" * 300_000}]}
    path.write_text(json.dumps([small, big, small]))
    conversations, report = _read(path, options=IngestOptions(max_record_bytes=100_000))
    assert [c.id for c in conversations] == ["a", "a"]
    assert _reasons(report) == [("dialogue 2", "too_large")]


def test_truncated_json_array(tmp_path):
    path = tmp_path / "dialogues.json"
    path.write_text(
        '[{"conversation_id": "a", "utterances": [{"speaker": "user", "text": "hi"}]}, {"conv'
    )
    conversations, report = _read(path, format="taskmaster")
    assert [c.id for c in conversations] == ["a"]
    assert _reasons(report) == [("dialogue 2", "bad_json")]


def test_unknown_format_in_a_folder_is_reported(tmp_path):
    (tmp_path / "notes.txt").write_text("just some notes\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.jsonl").write_text(GOOD_LINE + "\n")
    conversations, report = _read(tmp_path)
    assert [c.id for c in conversations] == ["ok"]
    assert _reasons(report) == [("file", "unknown_format")]


def test_bad_format_name_and_missing_path(tmp_path):
    with pytest.raises(ConfigError, match="unknown transcript format"):
        read_conversations(tmp_path, format="xml")
    with pytest.raises(TrainingDataError, match="no such file"):
        read_conversations(tmp_path / "missing.jsonl")
