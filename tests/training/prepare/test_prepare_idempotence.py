"""A second run changes nothing; hand-edited and foreign files are never overwritten."""

import hashlib

import pytest

from tests.training.prepare.conftest import DATA
from training.prepare.manifest import MANIFEST_NAME, OutputConflictError

INPUT = DATA / "prepare_pii.jsonl"
OUTPUTS = {
    "nlu/prepared.yml",
    "test/nlu_test.yml",
    "generation/pairs.jsonl",
    "generation/pairs_test.jsonl",
    "unlabelled_openers.jsonl",
    "prepare_report.json",
    "prepare_report.md",
}


def _snapshot(out):
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_second_run_is_identical_and_says_nothing_changed(run_prepare, tmp_path):
    out = tmp_path / "out"
    first = run_prepare(INPUT, out)
    assert first.changed and set(first.written) == OUTPUTS
    before = _snapshot(out)
    assert MANIFEST_NAME in before

    second = run_prepare(INPUT, out)

    assert not second.changed
    assert set(second.unchanged) == OUTPUTS
    assert _snapshot(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".prepare-") and p.is_dir()]


def test_same_input_into_two_folders_gives_identical_files(run_prepare, tmp_path):
    run_prepare(INPUT, tmp_path / "a", seed=7)
    run_prepare(INPUT, tmp_path / "b", seed=7)
    assert _snapshot(tmp_path / "a") == _snapshot(tmp_path / "b")


def test_hand_edited_file_is_protected_unless_forced(run_prepare, tmp_path):
    out = tmp_path / "out"
    run_prepare(INPUT, out)
    edited = out / "nlu" / "prepared.yml"
    edited.write_text(edited.read_text() + "    - my own example\n")

    with pytest.raises(OutputConflictError, match="prepared.yml: edited since prepare wrote it"):
        run_prepare(INPUT, out, max_per_intent=1)
    assert edited.read_text().endswith("my own example\n")

    forced = run_prepare(INPUT, out, force=True)
    assert "nlu/prepared.yml" in forced.written
    assert "my own example" not in edited.read_text()
    assert not run_prepare(INPUT, out).changed


def test_foreign_file_is_refused(run_prepare, tmp_path):
    out = tmp_path / "out"
    (out / "nlu").mkdir(parents=True)
    foreign = out / "nlu" / "prepared.yml"
    foreign.write_text("version: '3.1'\nnlu: []\n")
    with pytest.raises(OutputConflictError, match="exists and was not written by prepare"):
        run_prepare(INPUT, out)
    assert foreign.read_text() == "version: '3.1'\nnlu: []\n"
    assert not (out / "generation").exists()


def test_changed_options_rewrite_only_what_changed(run_prepare, tmp_path):
    out = tmp_path / "out"
    run_prepare(INPUT, out, context_turns=4)
    result = run_prepare(INPUT, out, context_turns=0)
    assert (
        "generation/pairs.jsonl" in result.written
        or "generation/pairs_test.jsonl" in result.written
    )
    assert "nlu/prepared.yml" in result.unchanged


def test_held_out_split_can_live_outside_the_training_folder(run_prepare, tmp_path):
    out, heldout = tmp_path / "data", tmp_path / "heldout"
    first = run_prepare(INPUT, out, test_out=heldout, test_fraction=0.5)
    assert "../heldout/nlu_test.yml" in first.written
    assert (heldout / "nlu_test.yml").read_text().startswith('version: "3.1"')
    assert not (out / "test").exists()
    assert not run_prepare(INPUT, out, test_out=heldout, test_fraction=0.5).changed
    (heldout / "nlu_test.yml").write_text("edited\n")
    with pytest.raises(OutputConflictError, match="nlu_test.yml: edited since"):
        run_prepare(INPUT, out, test_out=heldout, test_fraction=0.5)
