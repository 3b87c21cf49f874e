"""Start the Rasa server and the action server as real processes on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass
class RunningBot:
    url: str
    process: subprocess.Popen
    port: int
    actions_port: int
    log: Path


@contextmanager
def running_bot(
    model: Path,
    tmp: Path,
    *,
    credentials: str | None = None,
    endpoints_extra: str = "",
    env_extra: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[RunningBot]:
    """Run `rasa run actions` and `rasa run` on free ports; stop both afterwards.

    Args:
        model: The trained model archive.
        tmp: A scratch folder for logs and the generated endpoints file.
        credentials: YAML for `--credentials`; the project's credentials.yml when None.
        endpoints_extra: YAML appended to the generated endpoints file (the action
            endpoint is always set to the test's action server).
        env_extra: Extra environment variables for both processes.
        port: The Rasa server's port; a free one when None.
    """
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **(env_extra or {})}
    actions_port, port = free_port(), port or free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n{endpoints_extra}'
    )
    credentials_file = ROOT / "credentials.yml"
    if credentials is not None:
        credentials_file = tmp / "credentials.yml"
        credentials_file.write_text(credentials)
    logs = [open(tmp / "actions.log", "wb"), open(tmp / "rasa.log", "wb")]
    actions = subprocess.Popen(
        [
            str(bin_dir / "rasa"),
            "run",
            "actions",
            "--actions",
            "actions",
            "--port",
            str(actions_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
    )
    server = subprocess.Popen(
        [
            str(bin_dir / "rasa"),
            "run",
            "-m",
            str(model),
            "--enable-api",
            "--port",
            str(port),
            "-i",
            "127.0.0.1",
            "--credentials",
            str(credentials_file),
            "--endpoints",
            str(endpoints),
        ],
        cwd=ROOT,
        env=env,
        stdout=logs[1],
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{actions_port}/health", actions)
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/status", server)
        yield RunningBot(url, server, port, actions_port, tmp / "rasa.log")
    finally:
        for proc in (server, actions):
            proc.terminate()
        for proc in (server, actions):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
