"""Benchmark: conversation locks across two processes, Rasa's RedisLockStore against ours.

Two processes share one Redis. In every round both start a turn of the same conversation
at the same instant (a barrier), as two bot servers behind a load balancer do when a
customer sends two messages in quick succession. Inside the turn each process counts
itself in and out with a Redis counter, so a turn that starts while the other is still
inside is an *overlap* (the lock failed to serialise). A turn that has not got the lock
after ``--turn-timeout`` seconds is *hung*: in production its message is never answered.
A *lock error* is Rasa's ``LockError`` (the lock vanished under a waiter): the message
fails.

The driver is ``loopback/lock_contention.py``. Both stores poll every 10 ms (Rasa's
default is 1 s, which only stretches its waits).
Needs ``redis-server`` (``scripts/system_deps.sh``); it starts its own on a free port.

    .venv/bin/python bench/lock_store.py --rounds 300

Results go to ``bench/results/lock_store.json``; a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    """Run both stores on one fresh redis-server and report."""
    from loopback.lock_contention import contention
    from loopback.redis_server import redis_executable, start_redis, stop_redis

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--turn-timeout", type=float, default=3.0)
    args = parser.parse_args()
    exe = redis_executable()
    if exe is None:
        sys.stderr.write("redis-server not found: run scripts/system_deps.sh\n")
        return 2
    server = start_redis(exe, Path(tempfile.mkdtemp(prefix="lockbench")))
    try:
        rows = [
            contention(kind, server.port, args.rounds, args.turn_timeout)
            for kind in ("rasa", "ours")
        ]
    finally:
        stop_redis(server)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {multiprocessing.cpu_count()} cores",
        "python": platform.python_version(),
        "rounds": args.rounds,
        "turn_timeout_s": args.turn_timeout,
        "rows": rows,
    }
    out = ROOT / "bench" / "results" / "lock_store.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    sys.stdout.write(
        "| store | turns | overlapping | hung | lock errors | turn p50 ms |\n"
        "|---|---|---|---|---|---|\n"
    )
    for row in rows:
        sys.stdout.write(
            f"| {row['store']} | {row['turns']} | {row['overlapping_turns']} | "
            f"{row['hung_turns']} | {row['lock_errors']} | {row['turn_p50_ms']} |\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
