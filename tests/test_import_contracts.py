"""The dependency direction of pyproject.toml's import contracts holds, and a back edge fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "bot", "channels", "actions", "training")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.fail(f"{exe} is missing: run `make setup`")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(exe), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_tree(dest: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__", "static")
        )


def test_the_tree_keeps_every_import_contract() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        ("common/_back_edge.py", "import bot.nlg\n", "shared core"),
        ("bot/_back_edge.py", "import training.ingest\n", "never imports training"),
        ("bot/_back_edge.py", "import channels.base\n", "above bot"),
        ("channels/_back_edge.py", "import training.prepare\n", "never imports training"),
    ],
)
def test_a_back_edge_breaks_the_build(
    tmp_path: Path, module: str, statement: str, contract: str
) -> None:
    _copy_tree(tmp_path)
    (tmp_path / module).write_text(statement)
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert contract in result.stdout
