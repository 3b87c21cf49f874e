"""The Slack channel: a slack-bolt app inside Rasa's Sanic server.

``POST /webhooks/slack/events`` takes both the Events API and interactivity (button
clicks). The request goes through three gates before any Rasa work happens:

1. size and shape (:func:`check_payload`): an oversized body is a 413, one that is not
   the JSON object (or ``payload=`` form) Slack sends is a 400;
2. slack-bolt's middleware: the signature and a timestamp younger than five minutes
   (else 401), the ``url_verification`` challenge, ``auth.test`` once, and its own
   events ignored;
3. our listeners: the event is acknowledged at once, repeats (Slack's retries, or the
   same message under two event types) are dropped (:class:`RecentKeys`), the sender's
   rate limit is taken, and the Rasa turn runs as a background task the channel tracks
   and finishes before the server stops.

Replies go out with ``chat.postMessage`` as :func:`channels.base.adapted_reply` shaped
them (mrkdwn), in the conversation's thread, buttons as Block Kit actions. See
``docs/channels/slack.md`` for the Slack app's setup and the credentials.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_bolt.adapter.sanic import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from channels.base import (
    DEFAULT_MAX_BODY_BYTES,
    SenderRateLimiter,
    outbound_registry,
    parse_json_body,
)
from channels.slack_dedupe import DEFAULT_TTL_S, RecentKeys
from channels.slack_events import (
    BUTTON_ACTION_PREFIX,
    CHANNEL,
    SlackInbound,
    inbound_from_action,
    inbound_from_event,
)
from channels.slack_output import (
    AGENT_PREFIX,
    SlackDeliveryError,
    SlackOutboundSender,
    SlackOutput,
)
from common.errors import BadRequestError, BotError, ConfigError

__all__ = [
    "AGENT_PREFIX",
    "BackgroundTurns",
    "SlackDeliveryError",
    "SlackInput",
    "SlackOutboundSender",
    "SlackOutput",
    "SlackSettings",
    "check_payload",
]

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackSettings:
    """The channel's settings, from ``credentials.yml`` with environment fallbacks.

    Attributes:
        bot_token: The bot token (``xoxb-...``); ``SLACK_BOT_TOKEN`` when not set.
        signing_secret: The app's signing secret; ``SLACK_SIGNING_SECRET`` when not set.
        api_base_url: The Web API's base URL (tests, enterprise proxies);
            ``SLACK_API_BASE_URL`` or Slack's own when not set.
        max_body_bytes: The largest request body accepted.
        dedupe_ttl_s: How long event ids are remembered.
        shutdown_timeout_s: How long the server waits for running turns when stopping.
        credentials: The raw credentials (for the ``rate_limit`` entry).

    """

    bot_token: str
    signing_secret: str
    api_base_url: str = DEFAULT_API_BASE_URL
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    dedupe_ttl_s: float = DEFAULT_TTL_S
    shutdown_timeout_s: float = 30.0
    credentials: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_credentials(
        cls, credentials: Mapping[str, Any] | None, env: Mapping[str, str] | None = None
    ) -> SlackSettings:
        """Read the settings from the channel's section of ``credentials.yml``.

        Args:
            credentials: ``bot_token``, ``signing_secret``, and optionally
                ``api_base_url``, ``max_body_bytes``, ``dedupe_ttl_s``,
                ``shutdown_timeout_s`` and ``rate_limit: {rate, burst}``.
            env: Environment for the fallbacks; ``os.environ`` when ``None``.

        Returns:
            The settings.

        Raises:
            ConfigError: If the token or the signing secret is missing, or a number is
                not a number.

        """
        creds = dict(credentials or {})
        env = os.environ if env is None else env

        def value(key: str, variable: str, default: str = "") -> str:
            return str(creds.get(key) or env.get(variable) or default).strip()

        token = value("bot_token", "SLACK_BOT_TOKEN")
        secret = value("signing_secret", "SLACK_SIGNING_SECRET")
        if not token or not secret:
            raise ConfigError(
                "the slack channel needs bot_token and signing_secret in credentials.yml "
                "(or SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET in the environment)"
            )
        try:
            return cls(
                bot_token=token,
                signing_secret=secret,
                api_base_url=value("api_base_url", "SLACK_API_BASE_URL", DEFAULT_API_BASE_URL),
                max_body_bytes=int(creds.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES),
                dedupe_ttl_s=float(creds.get("dedupe_ttl_s") or DEFAULT_TTL_S),
                shutdown_timeout_s=float(creds.get("shutdown_timeout_s") or 30.0),
                credentials=creds,
            )
        except (TypeError, ValueError) as e:
            raise ConfigError(f"invalid number in the slack channel's credentials: {e}") from e


def check_payload(body: bytes | None, content_type: str | None, max_bytes: int) -> None:
    """Refuse a body that is too large or not shaped like what Slack sends.

    Events come as a JSON object; interactivity as a form whose ``payload`` field is a
    JSON object; ``ssl_check`` as a form without one.

    Args:
        body: The raw request body.
        content_type: The request's ``Content-Type``.
        max_bytes: The largest body accepted.

    Raises:
        PayloadTooLargeError: If the body is over ``max_bytes`` (413).
        BadRequestError: If it is empty, not UTF-8, or not the expected JSON (400).

    """
    if body and len(body) > max_bytes:
        parse_json_body(body, max_bytes)  # raises PayloadTooLargeError
    if (content_type or "").startswith("application/x-www-form-urlencoded"):
        try:
            form = parse_qs((body or b"").decode("utf-8"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as e:
            raise BadRequestError("request body is not a valid form") from e
        if "payload" in form:
            parse_json_body(form["payload"][0].encode("utf-8"), max_bytes)
        return
    parse_json_body(body, max_bytes)


class _WithoutPayloads(logging.Filter):
    """Cut payload dumps out of slack-bolt's and slack_sdk's log lines.

    Both libraries put request bodies into some messages (an invalid signature, API
    calls at debug level); customers' text must never reach the logs.
    """

    _DUMP = re.compile(r"[({\[].*", re.DOTALL)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "{" in message:
            record.msg = self._DUMP.sub("[payload withheld]", message, count=1)
            record.args = ()
        return True


def _library_logger(name: str) -> logging.Logger:
    child = logger.getChild(name)
    if not any(isinstance(f, _WithoutPayloads) for f in child.filters):
        child.addFilter(_WithoutPayloads())
    return child


class BackgroundTurns:
    """The Rasa turns still running after their events were acknowledged."""

    def __init__(self) -> None:
        """Start with none."""
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, turn: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run ``turn`` in the background and keep it until it is done."""
        task = asyncio.get_running_loop().create_task(turn, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float) -> None:
        """Wait for the running turns; cancel those still running after ``timeout``."""
        if not self._tasks:
            return
        logger.info("Waiting for %d Slack turn(s) to finish.", len(self._tasks))
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("Cancelled %d Slack turn(s) still running at shutdown.", len(pending))


class SlackInput(InputChannel):
    """Rasa input channel for Slack (Events API and interactivity over HTTP)."""

    def __init__(self, settings: SlackSettings) -> None:
        """Create the channel.

        Args:
            settings: Token, signing secret and limits.

        """
        self.settings = settings
        self.rate_limiter = SenderRateLimiter.from_credentials(settings.credentials)
        self.recent = RecentKeys(ttl=settings.dedupe_ttl_s)
        self.turns = BackgroundTurns()

    @classmethod
    def name(cls) -> str:
        """The channel's name; it serves ``/webhooks/slack/``."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its ``credentials.yml`` section.

        Raises:
            ConfigError: If the token or signing secret is missing.

        """
        return cls(SlackSettings.from_credentials(credentials))

    def web_client(self) -> AsyncWebClient:
        """Return a Web API client for the configured token and base URL (no I/O)."""
        return AsyncWebClient(
            token=self.settings.bot_token,
            base_url=self.settings.api_base_url,
            logger=_library_logger("api"),
        )

    def bolt_app(
        self,
        client: AsyncWebClient,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> AsyncApp:
        """Build the bolt app with this channel's listeners (no I/O).

        ``auth.test`` runs on the first signed request, not at start-up.
        """
        app = AsyncApp(
            client=client,
            signing_secret=self.settings.signing_secret,
            name="pinecrest-slack",
            logger=_library_logger("bolt"),
            process_before_response=True,  # our listeners only schedule the turn
        )

        async def on_event(
            ack: Callable[[], Awaitable[Any]],
            body: dict[str, Any],
            event: dict[str, Any],
            context: AsyncBoltContext,
            request: AsyncBoltRequest,
        ) -> None:
            await ack()
            event_id = str(body.get("event_id") or "")
            retry = next(iter(request.headers.get("x-slack-retry-num") or []), "none")
            if event_id and not self.recent.first_time(f"event:{event_id}"):
                logger.info("Acknowledged repeated Slack event %s (retry %s).", event_id, retry)
                return
            inbound = inbound_from_event(
                event,
                team_id=body.get("team_id") or context.team_id,
                bot_user_id=context.bot_user_id,
                event_id=event_id or None,
            )
            if inbound is None:
                logger.debug("Ignored Slack event %s (%s).", event_id, event.get("type"))
                return
            self._accept(inbound, on_new_message, client)

        async def on_button(
            ack: Callable[[], Awaitable[Any]],
            body: dict[str, Any],
            action: dict[str, Any],
        ) -> None:
            await ack()
            inbound = inbound_from_action(body, action)
            if inbound is None:
                logger.debug("Ignored a Slack block action.")
                return
            self._accept(inbound, on_new_message, client)

        app.event("message")(on_event)
        app.event("app_mention")(on_event)
        app.action(re.compile(f"^{BUTTON_ACTION_PREFIX}"))(on_button)
        return app

    def _accept(
        self,
        inbound: SlackInbound,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        client: AsyncWebClient,
    ) -> None:
        if not self.recent.first_time(inbound.dedupe_key):
            logger.info("Ignored a repeat of a message from %s.", inbound.sender_id)
            return
        if not self.rate_limiter.allow(inbound.sender_id):
            return  # acknowledged and dropped; the limiter logs the sender
        self.turns.spawn(
            self._run_turn(inbound, on_new_message, client), name=f"slack-turn-{inbound.sender_id}"
        )

    async def _run_turn(
        self,
        inbound: SlackInbound,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        client: AsyncWebClient,
    ) -> None:
        message = UserMessage(
            inbound.text,
            SlackOutput(client, inbound.address),
            inbound.sender_id,
            input_channel=CHANNEL,
            metadata=inbound.metadata,
        )
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            logger.warning("Slack turn for %s was cancelled.", inbound.sender_id)
            raise
        except Exception as e:  # a failed turn must not kill the channel
            logger.error("Slack turn for %s failed: %s.", inbound.sender_id, type(e).__name__)
            logger.debug("Slack turn failure details.", exc_info=True)
        else:
            logger.info("Answered a Slack message from %s.", inbound.sender_id)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Return the Sanic blueprint Rasa mounts at ``/webhooks/slack/``.

        It also registers the channel's :class:`SlackOutboundSender` in
        :func:`bot.handoff.outbound.outbound_registry`, and finishes running turns before the
        server stops.
        """
        client = self.web_client()
        handler = AsyncSlackRequestHandler(self.bolt_app(client, on_new_message))
        outbound_registry().register(SlackOutboundSender(client))
        slack_webhook = Blueprint("slack_webhook", __name__)

        @slack_webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @slack_webhook.route("/events", methods=["POST"])
        async def events(request: Request) -> HTTPResponse:
            try:
                check_payload(request.body, request.content_type, self.settings.max_body_bytes)
            except BotError as e:
                logger.info("Refused a Slack request: %s (%d).", e.message, e.status_code)
                return response.json({"error": e.message}, status=e.status_code)
            try:
                return await handler.handle(request)
            except Exception as e:  # bolt handles its own errors; this is the last guard
                logger.error("Slack request failed: %s.", type(e).__name__)
                return response.json({"error": "internal error"}, status=500)

        @slack_webhook.listener("before_server_stop")
        async def finish_turns(app: Any, loop: Any) -> None:
            await self.turns.drain(self.settings.shutdown_timeout_s)

        return slack_webhook
