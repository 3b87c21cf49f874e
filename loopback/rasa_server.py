"""Start the Rasa server and the action server as real processes on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from loopback.ports import free_port
from loopback.processes import stop_processes

ROOT = Path(__file__).resolve().parents[1]
"""The repository root: the servers run there, on its config, domain and endpoints."""


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 420.0) -> None:
    """Wait until ``url`` answers below 500; raise if ``proc`` exits or time runs out."""
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
    """A running Rasa server: its URL, process, ports and log file."""

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
        endpoints_extra: YAML whose top-level keys replace those of the project's
            endpoints.yml (the action endpoint is always the test's action server, and
            the handoff queue a SQLite file in ``tmp`` unless ``endpoints_extra`` says
            otherwise). ``BOT_ENDPOINTS`` points both processes at the result.
        env_extra: Extra environment variables for both processes.
        port: The Rasa server's port; a free one when None.
    """
    with running_fleet(
        model,
        tmp,
        count=1,
        credentials=credentials,
        endpoints_extra=endpoints_extra,
        env_extra=env_extra,
        ports=[port] if port else None,
    ) as bots:
        yield bots[0]


def _endpoints(tmp: Path, actions_port: int, extra: str) -> str:
    """The project's endpoints.yml for a test: its action server, its own SQLite files.

    Top-level keys of ``extra`` replace the project's.
    """
    config = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    config["action_endpoint"] = {"url": f"http://127.0.0.1:{actions_port}/webhook"}
    config["handoff_queue"] = {"type": "sqlite", "path": str(tmp / "handoff.db")}
    if (config.get("tracker_store") or {}).get("type") == "SQL":
        config["tracker_store"] = {**config["tracker_store"], "db": str(tmp / "trackers.db")}
    if "url" in (config.get("event_broker") or {}):
        config["event_broker"] = {**config["event_broker"], "url": f"sqlite:///{tmp}/events.db"}
    config.update(yaml.safe_load(extra) or {})
    return yaml.safe_dump(config, sort_keys=False)


_BIND_ATTEMPTS = 3
"""How often a Rasa server that lost its port to another process is started again."""


def _lost_its_port(log: Path) -> bool:
    """Whether a Rasa server's log says that its port was taken."""
    return "address already in use" in log.read_text(encoding="utf-8", errors="replace")


def _rasa() -> str:
    return str(Path(sys.executable).parent / "rasa")


@contextmanager
def running_fleet(
    model: Path,
    tmp: Path,
    *,
    count: int,
    credentials: str | None = None,
    endpoints_extra: str = "",
    env_extra: dict[str, str] | None = None,
    ports: list[int] | None = None,
) -> Iterator[list[RunningBot]]:
    """Run one action server and ``count`` Rasa servers sharing the same endpoints.

    With a shared tracker and lock store (the Redis profile) the servers behave as
    one bot behind a load balancer. The first server logs to ``rasa.log``, the others
    to ``rasa-<i>.log``.
    """
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        # Sanic closes a new connection that sends nothing for 5 s; a busy Rasa server
        # opens its connection to the action server and writes later than that.
        "SANIC_KEEP_ALIVE_TIMEOUT": "60",
        # endpoints.redis.yml's event store (insights); a test's own file unless it says.
        "EVENTS_DB_URL": f"sqlite:///{tmp}/events.db",
        **(env_extra or {}),
    }
    actions_port = free_port()
    may_move = ports is None  # a port the caller chose is kept: no restart elsewhere
    ports = ports or [free_port() for _ in range(count)]
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(_endpoints(tmp, actions_port, endpoints_extra))
    env["BOT_ENDPOINTS"] = str(endpoints)
    credentials_file = ROOT / "credentials.yml"
    if credentials is not None:
        credentials_file = tmp / "credentials.yml"
        credentials_file.write_text(credentials)
    logs = [open(tmp / "actions.log", "wb")]
    procs = [
        subprocess.Popen(
            [_rasa(), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
            cwd=ROOT,
            env=env,
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        )
    ]
    bots: list[RunningBot] = []

    def start(i: int, port: int) -> RunningBot:
        log_path = tmp / ("rasa.log" if i == 0 else f"rasa-{i}.log")
        logs.append(open(log_path, "wb"))
        server = subprocess.Popen(
            [
                _rasa(),
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
            stdout=logs[-1],
            stderr=subprocess.STDOUT,
        )
        procs.append(server)
        return RunningBot(f"http://127.0.0.1:{port}", server, port, actions_port, log_path)

    try:
        bots.extend(start(i, port) for i, port in enumerate(ports))
        wait_http(f"http://127.0.0.1:{actions_port}/health", procs[0])
        for i in range(len(bots)):
            for attempt in range(_BIND_ATTEMPTS):
                try:
                    wait_http(f"{bots[i].url}/status", bots[i].process)
                    break
                except RuntimeError:
                    # Rasa binds its port only after loading the model; when another
                    # process took the port meanwhile, Sanic logs it and Rasa exits 0.
                    if (
                        not may_move
                        or attempt + 1 == _BIND_ATTEMPTS
                        or not _lost_its_port(bots[i].log)
                    ):
                        raise
                    bots[i] = start(i, free_port())
        yield bots
    finally:
        stop_processes(procs[1:] + procs[:1])
        for log in logs:
            log.close()
