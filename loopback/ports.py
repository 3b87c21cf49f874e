"""Free TCP ports on loopback.

Ports come from below the kernel's ephemeral range. A port in that range can be taken
between the check and the server's bind by any outgoing connection on the machine (a
Redis client, an HTTP request), and a Rasa server binds only after loading its model,
tens of seconds later. Below the range, only another test's server can take it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_LOCAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10000
"""The lowest port handed out: well above the ports system services listen on."""

_handed_out: set[int] = set()
"""Ports this process already returned: never twice, so a fleet never shares one."""

_random = random.Random()


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux's default where it cannot be read)."""
    try:
        low, high = (int(part) for part in _LOCAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The port lies below the ephemeral range where it can (see the module docstring)
    and is never one this process returned before. A server that binds it later can
    still lose a race with another test's server, so starters retry (`running_fleet`,
    Redis).
    """
    low, _ = ephemeral_range()
    if low - _LOWEST >= 1000:
        for _ in range(200):
            port = _random.randrange(_LOWEST, low)
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    while True:  # a machine whose ephemeral range leaves no room below it
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
