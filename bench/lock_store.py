"""Benchmark: conversation locks across two processes, Rasa's RedisLockStore against ours.

Two processes share one Redis. In every round both start a turn of the same conversation
at the same instant (a barrier), as two bot servers behind a load balancer do when a
customer sends two messages in quick succession. Inside the turn each process counts
itself in and out with a Redis counter, so a turn that starts while the other is still
inside is an *overlap* (the lock failed to serialise). A turn that has not got the lock
after ``--turn-timeout`` seconds is *hung*: in production its message is never answered.
A *lock error* is Rasa's ``LockError`` (the lock vanished under a waiter): the message
fails.

Both stores poll every 10 ms (Rasa's default is 1 s, which only stretches its waits).
Needs ``redis-server`` (``scripts/system_deps.sh``); it starts its own on a free port.

    .venv/bin/python bench/lock_store.py --rounds 300

Results go to ``bench/results/lock_store.json``; a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POLL = 0.01


def _store(kind: str, port: int, prefix: str) -> Any:
    """Rasa's store or ours, on db 1 of the local server."""
    if kind == "rasa":
        from rasa.core.lock_store import RedisLockStore

        return RedisLockStore(host="127.0.0.1", port=port, db=1, key_prefix=prefix)
    from bot.locks.redis_ticket_lock import RedisLockSettings, RedisTicketLockStore

    settings = RedisLockSettings(host="127.0.0.1", port=port, key_prefix=prefix, poll_interval=POLL)
    return RedisTicketLockStore(settings=settings)


def _worker(
    kind: str, port: int, prefix: str, rounds: int, timeout: float, barrier: Any, out: Any
) -> None:
    """One process: ``rounds`` turns, each started together with the other process."""
    import redis

    counter = redis.Redis(host="127.0.0.1", port=port, db=5)
    store = _store(kind, port, prefix)

    async def turn(conversation: str) -> bool:
        async with store.lock(conversation, wait_time_in_seconds=POLL):
            inside = counter.incr(f"{prefix}:inside:{conversation}")
            await asyncio.sleep(0.002)
            counter.decr(f"{prefix}:inside:{conversation}")
            return bool(inside > 1)

    async def run() -> dict[str, float]:
        from rasa.core.lock_store import LockError

        overlaps = hung = errors = 0
        waits: list[float] = []
        for index in range(rounds):
            barrier.wait(timeout=60)
            start = time.perf_counter()
            try:
                overlaps += await asyncio.wait_for(turn(f"c{index}"), timeout=timeout)
                waits.append(time.perf_counter() - start)
            except asyncio.TimeoutError:
                hung += 1
            except LockError:
                errors += 1
        waits.sort()
        return {
            "overlaps": overlaps,
            "hung": hung,
            "errors": errors,
            "p50_ms": 1000 * waits[len(waits) // 2] if waits else float("nan"),
        }

    out.put(asyncio.run(run()))


def _measure(kind: str, port: int, rounds: int, timeout: float) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    out = context.Queue()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    args = (kind, port, prefix, rounds, timeout, barrier, out)
    workers = [context.Process(target=_worker, args=args) for _ in range(2)]
    for worker in workers:
        worker.start()
    parts = [out.get(timeout=rounds * (timeout + 5)) for _ in workers]
    for worker in workers:
        worker.join()
    return {
        "store": kind,
        "turns": 2 * rounds,
        "overlapping_turns": int(sum(p["overlaps"] for p in parts)),
        "hung_turns": int(sum(p["hung"] for p in parts)),
        "lock_errors": int(sum(p["errors"] for p in parts)),
        "turn_p50_ms": round(max(p["p50_ms"] for p in parts), 1),
    }


def main() -> int:
    """Run both stores on one fresh redis-server and report."""
    from tests.support.redis_server import redis_executable, start_redis, stop_redis

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
            _measure(kind, server.port, args.rounds, args.turn_timeout) for kind in ("rasa", "ours")
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
