"""``python -m bot.insights report --since 30d --out report.html``.

Reads the event store and the handoff queue named in the endpoints file (``$BOT_ENDPOINTS``,
else ``endpoints.yml``): ``event_broker.url`` and ``handoff_queue``. Writes the HTML report
and its JSON (``--json``, default beside the HTML). ``--topics`` adds a trending-topics
file made by ``python -m training trending``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.handoff.config import handoff_queue_config
from bot.handoff.factory import create_handoff_queue
from bot.insights.config import events_url
from bot.insights.metrics import Filters
from bot.insights.report import write_report
from bot.insights.service import compute_insights
from bot.insights.store import SQLEventStore
from common.errors import BotError, ConfigError

logger = logging.getLogger(__name__)

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float) -> float:
    """``30d``, ``12h``, ``2w``, ``90m`` before ``now``, or an ISO date/time.

    Raises:
        ConfigError: If the text is neither.
    """
    match = re.fullmatch(r"(\d+)([mhdw])", text.strip())
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError as e:
        raise ConfigError(f"--since {text!r}: use e.g. 30d, 12h or 2026-11-01") from e


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` arguments."""
    parser.add_argument("--since", default="30d", help="30d, 12h, 2w or an ISO date")
    parser.add_argument("--until", default=None, help="ISO date/time; default: now")
    parser.add_argument("--out", type=Path, default=Path("report.html"))
    parser.add_argument("--json", type=Path, default=None, help="default: OUT with .json")
    parser.add_argument(
        "--endpoints", default=None, help="default: $BOT_ENDPOINTS or endpoints.yml"
    )
    parser.add_argument("--events-url", default=None, help="override event_broker.url")
    parser.add_argument("--channel", default=None)
    parser.add_argument("--intent", default=None)
    parser.add_argument("--topics", type=Path, default=None, help="trending topics JSON")
    parser.add_argument("--no-tickets", action="store_true", help="skip the handoff queue")


async def _report(args: argparse.Namespace) -> dict[str, Any]:
    now = time.time()
    until = datetime.fromisoformat(args.until).timestamp() if args.until else now
    since = parse_since(args.since, until)
    store = SQLEventStore(args.events_url or events_url(args.endpoints))
    queue = None if args.no_tickets else create_handoff_queue(handoff_queue_config(args.endpoints))
    if queue is not None:
        await queue.initialize()
    try:
        return await compute_insights(
            store, queue, since, until, Filters(channel=args.channel, intent=args.intent)
        )
    finally:
        if queue is not None:
            await queue.close()
        store.close()


def run(args: argparse.Namespace) -> int:
    """Compute and write the report; 2 on a configuration or store error."""
    started = time.perf_counter()
    try:
        report = asyncio.run(_report(args))
    except BotError as e:
        logger.error("No report: %s", e)
        return 2
    topics = json.loads(args.topics.read_text(encoding="utf-8")) if args.topics else None
    html, data = write_report(report, args.out, args.json, topics)
    logger.info(
        "Report of %d conversations in %.1f s: %s, %s",
        report["totals"]["conversations"],
        time.perf_counter() - started,
        html,
        data,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bot.insights``."""
    parser = argparse.ArgumentParser(prog="python -m bot.insights")
    commands = parser.add_subparsers(dest="command", required=True)
    configure(commands.add_parser("report", help="write the insights report (HTML + JSON)"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run(args)
