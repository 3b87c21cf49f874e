"""Rasa's REST channel with the size limit every channel of ours has.

Rasa's :class:`~rasa.core.channels.rest.RestInput` passes a message of any size to the
agent. :class:`LimitedRestInput` answers a body over ``max_body_bytes`` with a 413
before Rasa reads it, like the other channels (:func:`channels.base.parse_json_body`),
and is otherwise Rasa's channel: same name (``rest``), same URL
(``POST /webhooks/rest/webhook``), same request and reply format. Enable it in
``credentials.yml``::

    channels.rest.LimitedRestInput:
      max_body_bytes: 262144     # optional; the channels' default
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.base import DEFAULT_MAX_BODY_BYTES, PayloadTooLargeError
from common.errors import ConfigError

__all__ = ["LimitedRestInput"]

logger = logging.getLogger(__name__)


class LimitedRestInput(RestInput):
    """Rasa's REST channel, refusing bodies larger than ``max_body_bytes`` (413).

    Args:
        max_body_bytes: The largest request body accepted.

    Raises:
        ConfigError: If ``max_body_bytes`` is below 1.
    """

    def __init__(self, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_body_bytes < 1:
            raise ConfigError("rest: max_body_bytes must be >= 1")
        self.max_body_bytes = max_body_bytes

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> InputChannel:
        """Build the channel from its ``credentials.yml`` section (may be empty).

        Args:
            credentials: Optional ``max_body_bytes``.

        Returns:
            The channel.
        """
        limit = dict(credentials or {}).get("max_body_bytes")
        return cls(DEFAULT_MAX_BODY_BYTES if limit is None else int(limit))

    def check_size(self, body: bytes | None) -> None:
        """Refuse a body over the limit.

        Raises:
            PayloadTooLargeError: If ``body`` is longer than ``max_body_bytes``.
        """
        size = len(body or b"")
        if size > self.max_body_bytes:
            raise PayloadTooLargeError(
                f"request body of {size} bytes exceeds {self.max_body_bytes}"
            )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's REST routes, behind a size check on every request they serve."""
        routes = super().blueprint(on_new_message)

        @routes.middleware("request")
        async def limit_size(request: Request) -> HTTPResponse | None:
            try:
                self.check_size(request.body)
            except PayloadTooLargeError as e:
                logger.warning("Refused a REST request (%d): %s", e.status_code, e.message)
                return response.json({"error": e.message}, status=e.status_code)
            return None

        return routes
