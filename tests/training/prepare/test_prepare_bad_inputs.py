"""Bad inputs are reported with a reason and never stop the run."""

import json

import pytest

from common.errors import ConfigError, TrainingDataError
from training.ingest import IngestOptions

GOOD = json.dumps(
    {
        "id": "ok-1",
        "channel": "web",
        "turns": [
            {"role": "customer", "text": "where is my order", "intent": "order_status"},
            {"role": "agent", "text": "It ships today."},
        ],
    }
)


def test_each_bad_file_is_reported_and_the_good_one_is_prepared(run_prepare, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jsonl").write_text(GOOD + "\n")
    (folder / "photo.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    (folder / "truncated.jsonl").write_text(GOOD.replace("ok-1", "ok-2") + '\n{"id": "x", "tu')
    (folder / "latin1.jsonl").write_bytes(
        GOOD.replace("where is my order", "où est ma commande").encode("latin-1") + b"\n"
    )
    (folder / "huge.jsonl").write_text(
        json.dumps({"id": "big", "turns": [{"role": "customer", "text": "x" * 5_000_000}]}) + "\n"
    )
    (folder / "empty.jsonl").write_bytes(b"")
    out = tmp_path / "out"

    result = run_prepare(folder, out, ingest=IngestOptions(max_record_bytes=1_000_000))

    rejected = result.report.ingest.rejected
    assert rejected == {
        "binary_file": 1,
        "bad_json": 1,
        "undecodable": 1,
        "too_large": 1,
        "empty_file": 1,
    }
    assert result.report.ingest.accepted == 2
    report = json.loads((out / "prepare_report.json").read_text())
    assert report["ingest"]["rejected"] == dict(sorted(rejected.items()))
    reasons = {
        (r["source"].rsplit("/", 1)[-1], r["reason"]) for r in report["ingest"]["rejections"]
    }
    assert ("huge.jsonl", "too_large") in reasons
    assert ("latin1.jsonl", "undecodable") in reasons
    md = (out / "prepare_report.md").read_text()
    assert "| too_large | 1 |" in md
    assert "où est" not in md + (out / "prepare_report.json").read_text()


def test_an_empty_file_alone_is_a_clear_error(run_prepare, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with pytest.raises(TrainingDataError, match="no conversation could be read.*empty_file"):
        run_prepare(path, tmp_path / "out")
    assert not (tmp_path / "out" / "nlu").exists()


def test_missing_input(run_prepare, tmp_path):
    with pytest.raises(TrainingDataError, match="no such file"):
        run_prepare(tmp_path / "nope.jsonl", tmp_path / "out")


def test_unknown_format(run_prepare, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(GOOD + "\n")
    with pytest.raises(ConfigError, match="unknown transcript format 'xml'"):
        run_prepare(path, tmp_path / "out", format="xml")


def test_wrong_csv_columns_list_the_columns_found(run_prepare, tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("question,answer,label\nwhere is it,on its way,order_status\n")
    with pytest.raises(TrainingDataError) as info:
        run_prepare(path, tmp_path / "out")
    message = str(info.value)
    assert "missing CSV column(s) 'instruction', 'response', 'intent'" in message
    assert "columns found: question, answer, label" in message
