"""``python -m training trending --out insights/``: trending topics and intent proposals.

Reads the fallback and out-of-scope messages of the two weeks before ``--until`` (default
now) from the insights event store (``event_broker.url`` of the endpoints file), writes
``topics.json`` (for ``python -m bot.insights report --topics``) and, for the clusters
that grew, ``intents_proposed.yml`` with its members file: review it, then
``python -m training apply-intents``.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import datetime
from pathlib import Path

from common.errors import BotError

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("--out", type=Path, required=True, help="folder for the files")
    parser.add_argument("--until", default=None, help="ISO date/time; default: now")
    parser.add_argument(
        "--endpoints", default=None, help="default: $BOT_ENDPOINTS or endpoints.yml"
    )
    parser.add_argument("--events-url", default=None, help="override event_broker.url")
    parser.add_argument("--distance-threshold", type=float, default=0.55)
    parser.add_argument("--min-cluster-size", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="encoder device: cpu, cuda or auto")


def run(args: argparse.Namespace) -> int:
    """Cluster, count per week and write; 2 on a data or configuration error."""
    from bot.insights.config import events_url
    from bot.insights.events import FALLBACK_INTENTS
    from bot.insights.store import SQLEventStore
    from common.embeddings import MiniLMEmbedder
    from common.privacy import Redactor
    from training.discover.cluster import ClusterConfig
    from training.discover.trending import WEEK, trending_topics, write_trending

    until = datetime.fromisoformat(args.until).timestamp() if args.until else time.time()
    try:
        store = SQLEventStore(args.events_url or events_url(args.endpoints))
        messages = list(store.user_texts(until - 2 * WEEK, until, FALLBACK_INTENTS))
        store.close()
        config = ClusterConfig(
            distance_threshold=args.distance_threshold, min_cluster_size=args.min_cluster_size
        )
        topics, members = trending_topics(
            messages, until, MiniLMEmbedder(device=args.device), Redactor(), config
        )
        paths = write_trending(args.out, topics, members)
    except BotError as e:
        logger.error("%s", e)
        return 2
    growing = sum(1 for t in topics if t.this_week > t.last_week)
    logger.info(
        "%d messages, %d topics, %d growing; review %s",
        len(messages),
        len(topics),
        growing,
        paths[1],
    )
    return 0
