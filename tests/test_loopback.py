"""bench/ and loopback/ stand beside tests/: neither imports the test tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports_of_tests(source: str) -> list[str]:
    """The ``tests`` modules a source file imports, at any depth (lazy imports included)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "tests"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "tests":
                found.append(node.module)
    return found


@pytest.mark.parametrize("folder", ["bench", "loopback"])
def test_folder_never_imports_tests(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    offenders = {
        str(f.relative_to(ROOT)): found
        for f in files
        if (found := _imports_of_tests(f.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_check_sees_a_lazy_import_of_tests() -> None:
    source = "def main():\n    from tests.support.x import y\n    import tests.integration\n"
    assert _imports_of_tests(source) == ["tests.support.x", "tests.integration"]
    assert _imports_of_tests("from loopback.ports import free_port\n") == []


def test_stop_processes_terminates_and_kills_one_that_ignores_sigterm() -> None:
    import subprocess
    import sys

    from loopback.processes import stop_processes

    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert stubborn.stdout is not None and stubborn.stdout.readline() == "ready\n"
    stop_processes([polite, stubborn], timeout=1)
    assert polite.returncode == -15  # SIGTERM
    assert stubborn.returncode == -9  # SIGKILL after the timeout
    stubborn.stdout.close()


def test_free_port_avoids_the_ephemeral_range_and_never_repeats() -> None:
    from loopback.ports import ephemeral_range, free_port

    low, _ = ephemeral_range()
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    if low > 11000:  # room below the range: outgoing connections cannot take these
        assert all(p < low for p in ports)


def test_a_rasa_server_whose_port_is_taken_starts_again_elsewhere(
    sample_bot_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import requests

    from loopback import rasa_server
    from loopback.ports import free_port

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    held = int(taken.getsockname()[1])
    calls: list[int] = []

    def next_port() -> int:
        calls.append(1)
        # the action server's port, then the held one for the Rasa server, then free
        return held if len(calls) == 2 else free_port()

    monkeypatch.setattr(rasa_server, "free_port", next_port)
    try:
        with rasa_server.running_bot(sample_bot_model, tmp_path) as bot:
            assert bot.port != held
            assert requests.get(f"{bot.url}/status", timeout=10).status_code == 200
    finally:
        taken.close()
    assert len(calls) == 3
