"""The one discovery CLI: ``python -m training.discover`` only forwards, with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.discover.__main__ import main as deprecated_main


def test_old_command_forwards_to_the_training_cli(tmp_path: Path, caplog) -> None:
    proposals = tmp_path / "intents_proposed.yml"
    proposals.write_text("clusters:\n- id: 0\n  name: x\n  action: merge\n  merge_into: y\n")
    assert deprecated_main(["apply", str(proposals), "--out", str(tmp_path / "nlu.yml")]) == 2
    assert "python -m training.discover is deprecated; use python -m training apply-intents" in (
        caplog.text
    )
    assert "line 2: cluster 0: merge_into 'y' is not the name of any cluster" in caplog.text


def test_old_propose_takes_the_discover_options(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        deprecated_main(["propose", "--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m training discover" in capsys.readouterr().out
