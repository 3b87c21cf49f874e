"""Stop the child processes a loopback server started."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


def stop_processes(procs: Sequence[subprocess.Popen], timeout: float = 20.0) -> None:
    """Terminate each process still running, then wait; kill those that do not exit.

    Args:
        procs: The processes, in the order to signal them.
        timeout: Seconds each may take to exit after SIGTERM before it is killed.
    """
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
