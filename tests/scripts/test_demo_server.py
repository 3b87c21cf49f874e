"""`make demo`'s Rasa server: HTTP API on loopback only, behind a generated token."""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from rasa.__main__ import create_argument_parser
from rasa.core.run import configure_app

from loopback.ports import free_port
from scripts import demo_server

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "demo.sh"


def parsed(token_file: Path, port: int = 5005) -> argparse.Namespace:
    """The demo's `rasa run` arguments as Rasa's own command line parses them."""
    server = demo_server.DemoServer("models/pinecrest.tar.gz", port=port, token_file=token_file)
    argv = demo_server.rasa_run_args(server)
    assert argv[0] == "run"
    return create_argument_parser().parse_args(argv)


def test_the_api_is_on_loopback_behind_the_generated_token(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    args = parsed(token_file, port=5123)
    assert args.enable_api is True
    assert args.interface == "127.0.0.1"
    assert args.auth_token and args.auth_token == token_file.read_text().strip()
    assert (args.port, args.model) == (5123, "models/pinecrest.tar.gz")
    assert (args.credentials, args.endpoints) == ("credentials.yml", "endpoints.yml")


def test_the_token_is_made_once_and_kept_private(tmp_path: Path) -> None:
    token_file = tmp_path / "cache" / "demo-api-token"
    first = demo_server.ensure_secret(token_file)
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert demo_server.ensure_secret(token_file) == first
    assert parsed(token_file).auth_token == first


def test_a_token_that_starts_with_a_dash_reaches_rasa_whole(tmp_path: Path) -> None:
    """token_urlsafe draws "-" first one time in 64: argparse must not take it for an option."""
    token_file = tmp_path / "token"
    token_file.write_text("-QV8dLT28TvpJPSUe82qNuptEej3e8LhAdGz2jpQ7r4\n", encoding="utf-8")
    assert parsed(token_file).auth_token == "-QV8dLT28TvpJPSUe82qNuptEej3e8LhAdGz2jpQ7r4"


def test_demo_sh_starts_rasa_through_the_demo_server() -> None:
    script = DEMO.read_text(encoding="utf-8")
    assert "scripts/demo_server.py" in script
    assert "--enable-api" not in script  # only demo_server.py builds `rasa run`'s flags


@asynccontextmanager
async def api_server(args: argparse.Namespace) -> AsyncIterator[str]:
    """The Rasa HTTP API as `rasa run` builds it from ``args``, on loopback, no model."""
    app = configure_app(
        cors=args.cors,
        auth_token=args.auth_token,
        enable_api=args.enable_api,
        port=args.port,
    )
    server = await app.create_server(
        host=args.interface, port=args.port, return_asyncio_server=True, access_log=False
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://{args.interface}:{args.port}"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()


async def test_a_tracker_request_without_the_token_is_refused(tmp_path: Path) -> None:
    args = parsed(tmp_path / "token", port=free_port())
    tracker = "/conversations/someone/tracker"
    async with api_server(args) as url, httpx.AsyncClient(timeout=30) as client:
        anonymous = await client.get(url + tracker)
        wrong = await client.get(url + tracker, params={"token": "guess"})
        replace_model = await client.put(url + "/model", json={"model_file": "/tmp/x.tar.gz"})
        with_token = await client.get(url + tracker, params={"token": args.auth_token})
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert replace_model.status_code == 401
    assert with_token.status_code not in (401, 403)  # past the gate (no model is loaded)
