"""Free TCP ports on loopback."""

from __future__ import annotations

import socket


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The port is free when this returns; a server that binds it later can still lose a
    race with another process, so starters that can retry (Redis) do.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
