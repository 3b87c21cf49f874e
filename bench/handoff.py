"""Benchmark: concurrent human handoffs across several bot instances sharing one Redis.

Starts redis-server, one action server and ``--instances`` Rasa servers with the production
profile (``endpoints.redis.yml``), then:

1. **Handoff phase.** Sends ``/request_human`` for ``--handoffs`` fresh conversations at once
   through the REST channel, alternating instances. Measures each request's latency until
   the reply telling the customer their queue position, and checks that nothing was lost or
   duplicated: one queued ticket per conversation, every conversation paused.
2. **Agent phase.** ``--agents`` agents work the queue at once, each with its own queue
   client: claim a ticket (with a lease), append one agent message, drain the deliveries and
   resolve. Checks that each ticket was claimed by exactly one agent and each agent message
   delivered exactly once.

Writes ``bench/results/handoff.json`` and prints a Markdown table::

    .venv/bin/python bench/handoff.py                          # 200 handoffs, 2 instances
    .venv/bin/python bench/handoff.py --handoffs 40 --agents 8
    SAMPLE_BOT_MODEL=/path/model.tar.gz .venv/bin/python bench/handoff.py

The model is ``--model``, else ``$SAMPLE_BOT_MODEL``, else ``models/pinecrest.tar.gz``.
The audits live in ``bench/handoff_audit.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import random
import string
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.handoff_audit import (  # noqa: E402
    AgentWork,
    HandoffReply,
    check_agent_work,
    check_handoffs,
)
from bot.handoff.errors import ClaimConflictError, TicketClosedError  # noqa: E402
from bot.handoff.model import HandoffMessage, MessageAuthor  # noqa: E402
from bot.handoff.redis_queue import DEFAULT_KEY_PREFIX, RedisHandoffQueue  # noqa: E402
from common.errors import BotError  # noqa: E402

logger = logging.getLogger(__name__)

RESULTS = ROOT / "bench" / "results"
PROFILE = ROOT / "endpoints.redis.yml"
HANDOFF_TEXT = "/request_human"
LEASE_SECONDS = 120.0
HTTP_TIMEOUT_SECONDS = 600.0
TRACKER_READS_AT_ONCE = 20


class BenchError(BotError):
    """The benchmark could not run as intended (not a failed audit)."""


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile.

    Args:
        values: Samples (not empty).
        q: Percentile in 0..100.

    Returns:
        The smallest sample with at least ``q`` % of the samples at or below it.
    """
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# -- the fleet ---------------------------------------------------------------------------


def redis_profile_endpoints() -> str:
    """The Redis profile's endpoints without its action endpoint (the fleet sets its own)."""
    profile = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    profile.pop("action_endpoint", None)
    return str(yaml.safe_dump(profile))


def profile_env(redis_port: int) -> dict[str, str]:
    """Environment variables the profile reads, for a Redis on loopback."""
    return {
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_port),
        "ACTION_ENDPOINT_URL": "unused",
    }


def profile_queue(env: Mapping[str, str]) -> RedisHandoffQueue:
    """The handoff queue of the Redis profile, as the bot and action servers open it.

    Args:
        env: Values for the profile's ``${VARIABLES}``.

    Returns:
        The queue, not yet initialized.
    """
    profile = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    section = dict(profile["handoff_queue"])
    url = string.Template(str(section["url"])).substitute(env)
    prefix = str(section.get("key_prefix") or DEFAULT_KEY_PREFIX)
    return RedisHandoffQueue(url=url, key_prefix=prefix, socket_timeout=30.0)


@dataclass(frozen=True)
class Fleet:
    """A running Redis-profile fleet.

    Attributes:
        urls: Base URLs of the Rasa servers.
        redis_port: Port of the shared redis-server on loopback.
    """

    urls: list[str]
    redis_port: int


@contextmanager
def running_profile(
    model: Path, workdir: Path, instances: int, keep_alive_timeout: float | None = None
) -> Iterator[Fleet]:
    """Run redis-server, one action server and ``instances`` Rasa servers (Redis profile).

    Args:
        model: The trained model archive.
        workdir: Scratch folder for logs, the endpoints file and Redis.
        instances: Number of Rasa servers.
        keep_alive_timeout: Sanic's ``KEEP_ALIVE_TIMEOUT`` for every server
            (``SANIC_KEEP_ALIVE_TIMEOUT``); Sanic's default (5 s) when None. Sanic closes
            a new connection that sends no request within it, and a Rasa server busy
            predicting for many conversations can take longer than 5 s between opening
            its connection to the action server and writing the request.

    Yields:
        The fleet; the environment the servers got is :func:`profile_env` of its port.
    """
    from loopback.rasa_server import running_fleet
    from loopback.redis_server import running_redis

    with running_redis(workdir) as redis_server:
        env = profile_env(redis_server.port)
        if keep_alive_timeout is not None:
            env["SANIC_KEEP_ALIVE_TIMEOUT"] = str(keep_alive_timeout)
        with running_fleet(
            model,
            workdir,
            count=instances,
            endpoints_extra=redis_profile_endpoints(),
            env_extra=env,
        ) as bots:
            yield Fleet([bot.url for bot in bots], redis_server.port)


# -- phase 1: handoffs -------------------------------------------------------------------


def client_session() -> aiohttp.ClientSession:
    """An HTTP session without a connection cap, so every request really runs at once."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS),
    )


async def request_handoff(
    session: aiohttp.ClientSession, url: str, instance: int, sender: str
) -> HandoffReply:
    """Ask for a person in a new conversation and time the reply.

    Args:
        session: HTTP session.
        url: Base URL of the Rasa server.
        instance: Index of that server.
        sender: Sender id of the conversation.

    Returns:
        The reply's status (0 when the request failed), latency and announced position.
    """
    started = time.perf_counter()
    try:
        async with session.post(
            f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": HANDOFF_TEXT}
        ) as response:
            status = response.status
            body = await response.json(content_type=None) if status == 200 else []
    except (aiohttp.ClientError, asyncio.TimeoutError) as e:
        logger.warning("Handoff request of %s failed (%s).", sender, type(e).__name__)
        status, body = 0, []
    reply = HandoffReply(sender, instance, status, time.perf_counter() - started)
    for message in body or []:
        handoff = (message.get("custom") or {}).get("handoff")
        if isinstance(handoff, dict):
            reply.state = handoff.get("state")
            position = handoff.get("position")
            reply.position = int(position) if position is not None else None
        if message.get("text"):
            reply.texts += 1
    return reply


async def send_handoffs(
    urls: Sequence[str], senders: Sequence[str]
) -> tuple[list[HandoffReply], float]:
    """Send every conversation's handoff request at once, alternating instances.

    Args:
        urls: Base URLs of the Rasa servers.
        senders: One sender id per conversation.

    Returns:
        The replies in sender order and the wall-clock seconds for all of them.
    """
    async with client_session() as session:
        started = time.perf_counter()
        replies = await asyncio.gather(
            *(
                request_handoff(session, urls[i % len(urls)], i % len(urls), sender)
                for i, sender in enumerate(senders)
            )
        )
        wall = time.perf_counter() - started
    return list(replies), wall


async def read_trackers(urls: Sequence[str], senders: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Every conversation's tracker, read from the instance that did not serve it.

    Args:
        urls: Base URLs of the Rasa servers.
        senders: Sender ids, in the order they were sent.

    Returns:
        Sender id -> tracker JSON.
    """
    gate = asyncio.Semaphore(TRACKER_READS_AT_ONCE)

    async def one(session: aiohttp.ClientSession, i: int, sender: str) -> dict[str, Any]:
        url = urls[(i + 1) % len(urls)]
        async with gate, session.get(f"{url}/conversations/{sender}/tracker") as response:
            response.raise_for_status()
            return dict(await response.json())

    async with client_session() as session:
        found = await asyncio.gather(*(one(session, i, s) for i, s in enumerate(senders)))
    return dict(zip(senders, found, strict=True))


async def warm_up(urls: Sequence[str], queue: RedisHandoffQueue) -> None:
    """Hand off one throwaway conversation per instance, then resolve its ticket.

    The first escalation of an action server loads its config and sentiment model; doing
    it here keeps that out of the measurement and leaves the queue empty.

    Args:
        urls: Base URLs of the Rasa servers.
        queue: The shared handoff queue (initialized).
    """
    senders = [f"rest:warmup-{uuid.uuid4().hex}" for _ in urls]
    replies, _ = await send_handoffs(urls, senders)
    for reply in replies:
        if reply.status != 200 or reply.state != "waiting":
            raise BenchError(
                f"Warm-up handoff on instance {reply.instance} failed (status {reply.status}, "
                f"state {reply.state}); does the model run action_escalate for /request_human?"
            )
        ticket = await queue.open_ticket_for(reply.sender)
        if ticket is None:
            raise BenchError(f"Warm-up handoff on instance {reply.instance} made no ticket.")
        await queue.claim(ticket.id, "warmup", LEASE_SECONDS)
        await queue.resolve(ticket.id, "warmup")


# -- phase 2: agents ---------------------------------------------------------------------


async def agent_loop(
    name: str, queue: RedisHandoffQueue, work: AgentWork, rng: random.Random, spread: int
) -> None:
    """One agent: claim the queue's tickets one at a time until none is left.

    An agent looks at the queue as an inbox shows it and picks one of its first ``spread``
    tickets, so agents race for the same tickets; a refused claim moves on to the next one.

    Args:
        name: Agent id.
        queue: This agent's own queue client (initialized).
        work: Shared record of what every agent did.
        rng: Picks which of the first tickets the agent tries first.
        spread: How many tickets at the head of the queue the agent picks from.
    """
    while True:
        queued = await queue.list_queued()
        if not queued:
            return
        start = rng.randrange(min(len(queued), spread))
        for ticket in queued[start:] + queued[:start]:
            started = time.perf_counter()
            try:
                await queue.claim(ticket.id, name, LEASE_SECONDS)
            except (ClaimConflictError, TicketClosedError):
                work.conflicts += 1
                continue
            work.claims.setdefault(ticket.id, []).append(name)
            message = HandoffMessage(
                message_id=uuid.uuid4().hex,
                author=MessageAuthor.AGENT,
                text="Hi, this is a person from the support team. Let me look into it.",
                timestamp=time.time(),
                agent=name,
            )
            await queue.append_message(ticket.id, message)
            work.appended.setdefault(ticket.id, []).append(message.message_id)
            for pending in await queue.pending_deliveries(ticket.id):
                await queue.mark_delivered(ticket.id, pending.message_id)
                work.delivered[pending.message_id] += 1
            await queue.resolve(ticket.id, name)
            work.latencies_s.append(time.perf_counter() - started)
            break


async def work_queue(queue: RedisHandoffQueue, agents: int, seed: int = 0) -> AgentWork:
    """Let ``agents`` agents, each with its own Redis client, empty the queue at once.

    Args:
        queue: The shared queue (its settings are copied for every agent).
        agents: Number of agents.
        seed: Seed of the agents' choices.

    Returns:
        What the agents did.
    """
    work = AgentWork()
    clients = [
        RedisHandoffQueue(url=queue._url, key_prefix=queue.key_prefix)  # noqa: SLF001
        for _ in range(agents)
    ]
    for client in clients:
        await client.initialize()
    try:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                agent_loop(f"agent-{i}", client, work, random.Random(seed + i), agents)
                for i, client in enumerate(clients)
            )
        )
        work.wall_s = time.perf_counter() - started
    finally:
        for client in clients:
            await client.close()
    return work


# -- the whole benchmark -----------------------------------------------------------------


async def run_phases(
    urls: Sequence[str], redis_port: int, handoffs: int, agents: int
) -> dict[str, Any]:
    """Run both phases against a running fleet and audit them.

    Args:
        urls: Base URLs of the Rasa servers.
        redis_port: Port of the shared Redis.
        handoffs: Number of concurrent conversations handing off.
        agents: Number of concurrent agents.

    Returns:
        Measurements and audits of both phases.
    """
    async with profile_queue(profile_env(redis_port)) as queue:
        await warm_up(urls, queue)
        senders = [f"rest:{uuid.uuid4().hex}" for _ in range(handoffs)]
        logger.info("Sending %d handoffs to %d instances.", handoffs, len(urls))
        replies, wall = await send_handoffs(urls, senders)
        trackers = await read_trackers(urls, senders)
        handoff_audit = await check_handoffs(replies, trackers, queue)
        ticket_ids = [t.id for t in await queue.list_queued()]
        logger.info("%d agents working %d tickets.", agents, len(ticket_ids))
        work = await work_queue(queue, agents)
        agent_audit = await check_agent_work(work, ticket_ids, queue)
    latencies = [r.latency_s for r in replies if r.status == 200]
    per_instance = Counter(r.instance for r in replies)
    return {
        "handoffs": handoffs,
        "instances": len(urls),
        "agents": agents,
        "handoff_phase": {
            "wall_s": wall,
            "throughput_per_s": handoffs / wall,
            "p50_latency_s": percentile(latencies, 50) if latencies else None,
            "p95_latency_s": percentile(latencies, 95) if latencies else None,
            "max_latency_s": max(latencies, default=None),
            "per_instance": {str(k): v for k, v in sorted(per_instance.items())},
            **handoff_audit,
        },
        "agent_phase": {
            "wall_s": work.wall_s,
            "throughput_per_s": len(work.latencies_s) / work.wall_s if work.wall_s else None,
            "p50_latency_s": percentile(work.latencies_s, 50) if work.latencies_s else None,
            "p95_latency_s": percentile(work.latencies_s, 95) if work.latencies_s else None,
            **agent_audit,
        },
        "replies": [asdict(r) for r in replies],
    }


def markdown_table(result: Mapping[str, Any]) -> str:
    """The benchmark's results as a Markdown table."""
    h, a = result["handoff_phase"], result["agent_phase"]
    rows = [
        "| phase | count | wall (s) | throughput (/s) | p50 (s) | p95 (s) | checks |",
        "|---|---|---|---|---|---|---|",
        f"| handoff: `/request_human` → queue position ({result['instances']} instances) "
        f"| {result['handoffs']} | {h['wall_s']:.1f} | {h['throughput_per_s']:.1f} "
        f"| {h['p50_latency_s']:.2f} | {h['p95_latency_s']:.2f} "
        f"| {'pass' if not h['problems'] else '; '.join(h['problems'])} |",
        f"| agents: claim → message → deliver → resolve ({result['agents']} agents) "
        f"| {a['resolved']} | {a['wall_s']:.1f} | {a['throughput_per_s']:.1f} "
        f"| {a['p50_latency_s']:.3f} | {a['p95_latency_s']:.3f} "
        f"| {'pass' if not a['problems'] else '; '.join(a['problems'])} |",
    ]
    notes = [
        f"Announced queue positions: {h['announced_positions_distinct']} distinct of "
        f"{result['handoffs']} ({h['announced_position_collisions']} collisions), "
        f"{h['announced_equals_final_rank']} equal to the ticket's final rank; "
        f"position() after the phase: 1..{h['queued']} in queue order "
        f"{'yes' if h['final_positions_1_to_n'] else 'NO'}.",
        f"Agent phase: {a['claim_conflicts']} claims refused because another agent won.",
    ]
    return "\n".join(rows) + "\n\n" + "\n".join(notes) + "\n"


def _model(explicit: str | None) -> Path:
    import os

    return Path(
        explicit or os.environ.get("SAMPLE_BOT_MODEL") or ROOT / "models" / "pinecrest.tar.gz"
    )


def main() -> int:
    """Run the benchmark and write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handoffs", type=int, default=200)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--model", help="model archive (default $SAMPLE_BOT_MODEL)")
    parser.add_argument("--out", type=Path, default=RESULTS / "handoff.json")
    parser.add_argument(
        "--keep-alive-timeout",
        type=float,
        help="SANIC_KEEP_ALIVE_TIMEOUT for all servers (default: Sanic's 5 s)",
    )
    parser.add_argument("--workdir", type=Path, help="keep logs here (default: a temp dir)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    model = _model(args.model)
    if not model.is_file():
        sys.stderr.write(f"model not found: {model} (set SAMPLE_BOT_MODEL or --model)\n")
        return 2
    from training.evaluate.intents import machine_description

    with tempfile.TemporaryDirectory(prefix="bench-handoff-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with running_profile(model, workdir, args.instances, args.keep_alive_timeout) as fleet:
            result = asyncio.run(
                run_phases(fleet.urls, fleet.redis_port, args.handoffs, args.agents)
            )
    result = {
        "machine": machine_description(),
        "model": model.name,
        "sanic_keep_alive_timeout_s": args.keep_alive_timeout,
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(markdown_table(result))
    sys.stdout.write(f"\nMachine: {result['machine']}. JSON: {args.out}\n")
    clean = not result["handoff_phase"]["problems"] and not result["agent_phase"]["problems"]
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
