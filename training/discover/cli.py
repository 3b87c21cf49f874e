"""Command ``python -m training discover``: cluster messages into ``intents_proposed.yml``.

A ``configure(parser)`` / ``run(args)`` pair, mounted by ``training.__main__``;
``apply_cli`` (``apply-intents``) is its counterpart.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from common.errors import BotError
from common.pretrained import ensure_offline

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of the ``discover`` command."""
    parser.add_argument(
        "input",
        type=Path,
        help="unlabelled_openers.jsonl, a .txt (one message a line), a CSV with a text "
        "column, or transcripts in any ingest format (file or folder)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the review files")
    parser.add_argument(
        "--input-format",
        default="auto",
        choices=["auto", "openers", "lines", "csv", "transcripts"],
    )
    parser.add_argument("--text-column", help="JSON field or CSV column with the text")
    parser.add_argument(
        "--clusters", type=int, help="target number of clusters (default: cut by distance)"
    )
    parser.add_argument(
        "--distance-threshold",
        type=float,
        default=0.55,
        help="where to cut the tree (cosine distance for average/complete linkage)",
    )
    parser.add_argument(
        "--linkage",
        choices=["average", "complete", "ward"],
        help="default: average when cutting by distance, ward with --clusters",
    )
    parser.add_argument("--min-cluster-size", type=int, default=5)
    parser.add_argument("--sample-size", type=int, default=10_000)
    parser.add_argument("--examples", type=int, default=5, help="examples shown per cluster")
    parser.add_argument("--device", default="cpu", help="encoder device: cpu, cuda or auto")
    parser.add_argument("--seed", type=int, default=42)


def run(args: argparse.Namespace) -> int:
    """Cluster the messages and write ``intents_proposed.yml`` and the members file.

    Returns:
        0 on success, 2 on a data or configuration error.
    """
    ensure_offline()
    from common.embeddings import MiniLMEmbedder
    from common.privacy import Redactor
    from training.discover.cluster import ClusterConfig
    from training.discover.inputs import read_texts
    from training.discover.pipeline import discover, write_discovery

    try:
        config = ClusterConfig(
            n_clusters=args.clusters,
            distance_threshold=args.distance_threshold,
            linkage=args.linkage,
            min_cluster_size=args.min_cluster_size,
            sample_size=args.sample_size,
            seed=args.seed,
        )
        texts = read_texts(args.input, input_format=args.input_format, text_column=args.text_column)
        result = discover(
            texts,
            MiniLMEmbedder(device=args.device),
            Redactor(),
            config,
            examples=args.examples,
        )
        proposals_path, members_path = write_discovery(result, args.out)
    except BotError as e:
        logger.error("%s", e)
        return 2
    logger.info(
        "%d clusters, %d unclustered; review %s, then run apply-intents",
        len(result.proposals.clusters),
        result.proposals.unclustered,
        proposals_path,
    )
    return 0
