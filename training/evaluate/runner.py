"""Train and query one NLU system in its own process, so that its peak memory is its own.

Run as ``python -m training.evaluate.runner SPEC.json OUT.json``; the spec names the
config, the training YAML and the texts to parse.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

logger = logging.getLogger(__name__)


async def _parse_all(model_path: str, texts: list[str], name: str) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    for warmup in texts[:5]:
        await agent.parse_message(warmup)
    results: list[dict[str, Any]] = []
    for text in tqdm(texts, desc=f"{name}: parse", unit="msg"):
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        elapsed = time.perf_counter() - started
        ranking = parsed.get("intent_ranking") or []
        top = ranking[0] if ranking else parsed.get("intent") or {}
        results.append(
            {
                "intent": top.get("name"),
                "confidence": float(top.get("confidence") or 0.0),
                "seconds": elapsed,
            }
        )
    return results


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Train the system described by ``spec`` and parse its texts.

    Args:
        spec: ``name``, ``config`` (path), ``nlu`` (path) and ``texts`` (list).

    Returns:
        Training time, peak memory and one prediction per text.
    """
    from rasa.model_training import train_nlu

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        model_path = train_nlu(spec["config"], spec["nlu"], out, fixed_model_name=spec["name"])
        train_seconds = time.perf_counter() - started
        if not model_path:
            raise RuntimeError(f"{spec['name']}: training produced no model")
        predictions = asyncio.run(_parse_all(model_path, spec["texts"], spec["name"]))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "train_seconds": train_seconds,
        "peak_rss_mb": peak_kb / 1024.0,
        "predictions": predictions,
    }


def main(argv: list[str]) -> int:
    """Entry point: ``runner SPEC.json OUT.json``."""
    # Rasa logs parsed message text at debug level; keep its loggers quiet here. Its
    # structlog events (``processor.message.parse`` carries the text) print at every level
    # unless structlog is configured, which only Rasa's command line does.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger("bot").setLevel(logging.INFO)
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    result = run(spec)
    Path(argv[1]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
