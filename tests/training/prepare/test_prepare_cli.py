"""``python -m training prepare``: the dispatcher, the options and clear errors."""

import logging
import subprocess
import sys

import pytest

from tests.training.prepare.conftest import DATA, ROOT
from training.__main__ import COMMANDS, build_parser, main


def test_the_command_table_maps_prepare_to_its_module():
    assert COMMANDS["prepare"][0] == "training.prepare.cli"
    args = build_parser(["prepare"]).parse_args(
        ["prepare", "--input", "x.csv", "--max-per-intent", "5", "--csv-intent-column", ""]
    )
    assert args.max_per_intent == 5 and args.seed == 42 and args.context_turns == 4
    assert args.handler.__module__ == "training.prepare.cli"


def test_unknown_format_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as info:
        main(["prepare", "--input", "x", "--format", "xml"])
    assert info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_missing_input_exits_1_with_a_clear_message(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    code = main(["prepare", "--input", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path)])
    assert code == 1
    assert "nope.jsonl: no such file or folder" in caplog.text


def test_wrong_columns_exit_1_listing_the_columns(tmp_path, caplog):
    path = tmp_path / "pairs.csv"
    path.write_text("question,answer\nwhere,there\n")
    code = main(
        ["prepare", "--input", str(path), "--out", str(tmp_path / "o"), "--csv-intent-column", ""]
    )
    assert code == 1
    assert "columns found: question, answer" in caplog.text


def test_cli_run_then_rerun_says_nothing_changed(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    argv = ["prepare", "--input", str(DATA / "prepare_pii.jsonl"), "--out", str(tmp_path)]
    argv += ["--no-near-dedupe", "--test-fraction", "0"]
    assert main(argv) == 0
    assert "changed: generation/pairs.jsonl" in caplog.text
    caplog.clear()
    assert main(argv) == 0
    assert "nothing changed" in caplog.text
    assert "order_status" in (tmp_path / "nlu" / "prepared.yml").read_text()


def test_module_entry_point_lists_prepare():
    result = subprocess.run(
        [sys.executable, "-m", "training", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "prepare" in result.stdout
