"""Build the handoff queue an endpoint config asks for.

Like Rasa's lock stores, a backend is picked by the ``type:`` of an endpoint config::

    handoff_queue:
      type: redis          # or sqlite (the default)
      url: redis://localhost:6379/0
      key_prefix: "handoff:"
      claim_sla_seconds: 120
      reply_sla_seconds: 300

Read that mapping with :func:`bot.handoff.config.handoff_queue_config`. Both backends are
imported here at module top, so the imports run one way (factory → backends → queue).
Nothing is gained by importing Redis lazily: Rasa's own ``rasa.shared.utils.io``, which
the config reader uses, already loads the ``redis`` package, and ``redis.asyncio`` adds
under 10 ms.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.handoff.config import DEFAULT_SQLITE_PATH
from bot.handoff.queue import Clock, HandoffQueue
from bot.handoff.redis_queue import DEFAULT_KEY_PREFIX, RedisHandoffQueue
from bot.handoff.sla import SLAHook
from bot.handoff.sqlite_queue import SQLiteHandoffQueue
from common.errors import ConfigError

__all__ = ["create_handoff_queue"]

logger = logging.getLogger(__name__)


def create_handoff_queue(
    config: Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    sla_hook: SLAHook | None = None,
) -> HandoffQueue:
    """Build the handoff queue an endpoint config asks for.

    Args:
        config: ``type`` (``sqlite``, the default, or ``redis``); for sqlite ``path``
            (default :data:`~bot.handoff.config.DEFAULT_SQLITE_PATH`, ``:memory:`` for
            tests); for redis ``url`` or ``host``/``port``/``db``/
            ``password``, and ``key_prefix``; for both ``claim_sla_seconds`` and
            ``reply_sla_seconds``.
        clock: Returns the current Unix time.
        sla_hook: Awaited once per ticket and SLA breach kind.

    Returns:
        The queue, not yet initialized: use it as ``async with``.

    Raises:
        ConfigError: For an unknown type or option, or a value of the wrong type.
    """
    options = dict(config or {})
    kind = str(options.pop("type", None) or "sqlite").lower()
    common: dict[str, Any] = {
        "clock": clock,
        "sla_hook": sla_hook,
        "claim_sla_seconds": _optional_float(options, "claim_sla_seconds"),
        "reply_sla_seconds": _optional_float(options, "reply_sla_seconds"),
    }
    queue: HandoffQueue
    if kind in ("sqlite", "memory"):
        default_path = ":memory:" if kind == "memory" else DEFAULT_SQLITE_PATH
        path = str(options.pop("path", None) or default_path)
        queue = SQLiteHandoffQueue(path, **common)
    elif kind == "redis":
        queue = RedisHandoffQueue(
            url=_optional_str(options, "url"),
            host=str(options.pop("host", None) or "localhost"),
            port=_int(options, "port", 6379),
            db=_int(options, "db", 0),
            password=_optional_str(options, "password"),
            key_prefix=str(options.pop("key_prefix", None) or DEFAULT_KEY_PREFIX),
            **common,
        )
    else:
        raise ConfigError(f"Unknown handoff queue type '{kind}'; use 'sqlite' or 'redis'.")
    if options:
        raise ConfigError(f"Unknown handoff queue options for '{kind}': {sorted(options)}.")
    logger.debug("Created a %s handoff queue.", kind)
    return queue


def _optional_float(options: dict[str, Any], key: str) -> float | None:
    value = options.pop(key, None)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"Handoff queue option '{key}' must be a number.") from e


def _int(options: dict[str, Any], key: str, default: int) -> int:
    value = options.pop(key, None)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"Handoff queue option '{key}' must be an integer.") from e


def _optional_str(options: dict[str, Any], key: str) -> str | None:
    value = options.pop(key, None)
    return None if value is None else str(value)
