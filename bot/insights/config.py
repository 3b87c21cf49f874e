"""Where the insights read their events: ``event_broker.url`` of the endpoints file."""

from __future__ import annotations

import os

from rasa.utils.endpoints import read_endpoint_config

from bot.handoff.config import endpoints_path
from bot.insights.store import DEFAULT_URL


def events_url(endpoints: str | os.PathLike[str] | None = None) -> str:
    """The event store URL of an endpoints file (``$BOT_ENDPOINTS`` or ``endpoints.yml``).

    Args:
        endpoints: The endpoints file; see :func:`bot.handoff.config.endpoints_path`.

    Returns:
        ``event_broker.url`` (Rasa fills in ``${VARIABLES}``), else
        :data:`~bot.insights.store.DEFAULT_URL`.
    """
    config = read_endpoint_config(str(endpoints_path(endpoints)), "event_broker")
    return (config.url if config is not None else None) or DEFAULT_URL
