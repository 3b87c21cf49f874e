"""Two processes taking turns of the same conversations at once, through a lock store.

The driver behind ``bench/lock_store.py`` and the lock store's two-process test. In every
round both processes start a turn of the same conversation at the same instant (a
barrier). Inside a turn each counts itself in and out with a Redis counter, so a turn that
starts while the other is inside is an overlap; a turn without the lock after ``timeout``
seconds is hung; Rasa's ``LockError`` is a lock error.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from typing import Any

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


def contention(kind: str, port: int, rounds: int, timeout: float) -> dict[str, Any]:
    """Two spawned processes take ``rounds`` turns each, every turn started together.

    Args:
        kind: ``"rasa"`` (Rasa's ``RedisLockStore``) or ``"ours"``.
        port: Port of a redis-server on 127.0.0.1 (db 1 holds the locks, db 5 a counter).
        rounds: Turns per process.
        timeout: Seconds after which a turn without the lock counts as hung.

    Returns:
        Turns, overlapping turns, hung turns, lock errors and the turn p50 in ms.
    """
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
