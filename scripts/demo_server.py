"""Run `make demo`'s Rasa server with its HTTP API closed to strangers.

``rasa run --enable-api`` serves every conversation's tracker (personal data included)
and lets a caller replace the model. The demo keeps that API but binds the server to
loopback (``-i 127.0.0.1``; ``--interface`` changes it) and puts it behind a token
(``--auth-token``) generated once into ``.cache/demo-api-token`` (mode 0600), like the
inbox admin's password. Callers add ``?token=...`` to API requests; the channels
(widget, inbox, REST webhook) need no token.

Rasa is started in this process, so the token never appears in the process list::

    python scripts/demo_server.py models/pinecrest.tar.gz --port 5005
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_TOKEN_FILE = Path(".cache/demo-api-token")
DEFAULT_INTERFACE = "127.0.0.1"
DEFAULT_PORT = 5005


@dataclass(frozen=True)
class DemoServer:
    """What the demo's `rasa run` serves, and where.

    Attributes:
        model: The trained model archive.
        port: The server's port.
        interface: The address it listens on; loopback unless changed.
        token_file: Where the API token is kept (made on first use).
        credentials: Rasa's channels file.
        endpoints: Rasa's endpoints file.
    """

    model: str
    port: int = DEFAULT_PORT
    interface: str = DEFAULT_INTERFACE
    token_file: Path = DEFAULT_TOKEN_FILE
    credentials: str = "credentials.yml"
    endpoints: str = "endpoints.yml"


def ensure_secret(path: Path) -> str:
    """Return the secret kept in ``path``, making it (mode 0600) when missing or empty.

    Args:
        path: The secret's file; its folder is created.

    Returns:
        The secret.
    """
    if path.is_file() and path.read_text(encoding="utf-8").strip():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o600)  # also when the file existed (empty) with looser rights
    logger.info("Made the demo's API token in %s.", path)
    return secret


def rasa_run_args(server: DemoServer) -> list[str]:
    """The ``rasa`` command line (without the program name) for the demo's server.

    Args:
        server: What to serve; its token file is read, or made.

    Returns:
        ``["run", "-m", ..., "--enable-api", "--auth-token=...", "-i", ...]``.
    """
    return [
        "run",
        "-m",
        server.model,
        "--enable-api",
        # One argument: a token may start with "-", which argparse would take for an option.
        f"--auth-token={ensure_secret(server.token_file)}",
        "-i",
        server.interface,
        "--port",
        str(server.port),
        "--credentials",
        server.credentials,
        "--endpoints",
        server.endpoints,
    ]


def parse_args(argv: Sequence[str] | None = None) -> DemoServer:
    """Read this script's command line.

    Args:
        argv: The arguments; ``sys.argv[1:]`` when None.

    Returns:
        The server to run.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the trained model archive")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--interface",
        default=DEFAULT_INTERFACE,
        help="address to listen on (default: loopback only; the API still needs the token)",
    )
    parser.add_argument("--token-file", type=Path, default=DEFAULT_TOKEN_FILE)
    args = parser.parse_args(argv)
    return DemoServer(
        model=args.model, port=args.port, interface=args.interface, token_file=args.token_file
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run Rasa's own command line in this process with the demo's arguments."""
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *rasa_run_args(parse_args(argv))]
    rasa_main()


if __name__ == "__main__":
    main()
