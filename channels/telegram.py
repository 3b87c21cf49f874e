"""The Telegram channel: a Bot API webhook inside the Rasa server.

Enable it in ``credentials.yml``::

    channels.telegram.TelegramInput:
      access_token: "${TELEGRAM_BOT_TOKEN}"      # from BotFather
      secret_token: "${TELEGRAM_SECRET_TOKEN}"   # the one given to setWebhook
      # api_base_url: "https://api.telegram.org" # a local Bot API server, or a test fake
      # rate_limit: {rate: 1.0, burst: 10}

Telegram posts each update to ``POST /webhooks/telegram/webhook`` with the secret in
the ``X-Telegram-Bot-Api-Secret-Token`` header. The route checks the secret, parses the
update with python-telegram-bot (``Update.de_json``), answers Telegram at once and runs
the Rasa turn in a background task; the tasks of one chat run one after the other, so
replies keep the customer's order, and the server waits for them before it stops.

What each update does (:mod:`channels.telegram_convert` classifies it):

* text: a Rasa turn for sender ``telegram:<chat_id>``;
* ``/start``: Rasa receives ``/greet`` (its greeting); ``/help``: what the bot can do;
  ``/agent``: Rasa receives ``/request_human`` (escalation to a person);
* a button press: answered with ``answerCallbackQuery``; its payload goes to Rasa as the
  customer's message;
* a sticker, photo, voice note, ...: a polite "I can only read text" reply;
* an edited message: ignored (see :mod:`channels.telegram_convert` for why).

Repeated deliveries of one update (Telegram retries when it gets no answer) are
processed once. A sender over the rate limit is dropped with a 200, since any other
answer makes Telegram retry and holds back the bot's other updates.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Update

from channels.base import (
    DEFAULT_MAX_BODY_BYTES,
    SenderRateLimiter,
    message_metadata,
    namespaced_sender_id,
    outbound_registry,
    parse_json_body,
)
from channels.telegram_convert import Inbound, inbound_from_update
from channels.telegram_output import (
    CHANNEL,
    DEFAULT_API_BASE_URL,
    TelegramClient,
    TelegramOutboundSender,
    TelegramOutput,
    full_reply,
)
from common.errors import BadRequestError, BotError

__all__ = [
    "SECRET_HEADER",
    "ChatTasks",
    "TelegramInput",
    "TelegramSettings",
    "TelegramWebhook",
    "UnauthorizedWebhookError",
]

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

HELP_TEXT = (
    "I'm the Pinecrest Outfitters support bot. I can help you **track an order**, "
    "**start a return or refund**, sort out **delivery and payment** questions and answer "
    "**questions about our gear**. Just write your question in a message.\n\n"
    "/start: start over\n/help: what I can do\n/agent: talk to a person"
)
TEXT_ONLY_TEXT = (
    "Sorry, I can only read text messages. Please type your question, "
    "or send /agent to talk to a person."
)
UNKNOWN_COMMAND_TEXT = "Sorry, I don't know that command."
EXPIRED_BUTTON_TEXT = "This button has expired. Please type your question."

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class UnauthorizedWebhookError(BotError):
    """A webhook request without the secret token (401) or with a wrong one (403)."""

    status_code = 403

    def __init__(self, message: str, *, status_code: int = 403) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class TelegramSettings:
    """The channel's settings, from its ``credentials.yml`` section.

    Attributes:
        access_token: The bot's token from BotFather.
        secret_token: The ``secret_token`` given to ``setWebhook``.
        api_base_url: The Bot API server.
        max_body_bytes: The largest update accepted.
        start_payload: What ``/start`` sends to Rasa.
        agent_payload: What ``/agent`` sends to Rasa.
        help_text: The ``/help`` reply (light Markdown).
        text_only_text: The reply to stickers, photos, voice notes, ... .
        drain_seconds: How long the server waits for running turns when it stops.

    """

    access_token: str
    secret_token: str
    api_base_url: str = DEFAULT_API_BASE_URL
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    start_payload: str = "/greet"
    agent_payload: str = "/request_human"
    help_text: str = HELP_TEXT
    text_only_text: str = TEXT_ONLY_TEXT
    drain_seconds: float = 30.0

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> TelegramSettings:
        """Read the settings; ``access_token`` and ``secret_token`` are required.

        Raises:
            KeyError: If a required key is missing or empty.

        """
        access_token = str(credentials.get("access_token") or "")
        secret_token = str(credentials.get("secret_token") or "")
        if not access_token or not secret_token:
            raise KeyError("access_token and secret_token are required")
        optional: dict[str, Any] = {
            key: type(getattr(cls, key))(credentials[key])
            for key in (
                "api_base_url",
                "max_body_bytes",
                "start_payload",
                "agent_payload",
                "help_text",
                "text_only_text",
                "drain_seconds",
            )
            if credentials.get(key) is not None
        }
        return cls(access_token, secret_token, **optional)


class ChatTasks:
    """Background tasks, run one after the other per chat, tracked until they finish."""

    def __init__(self) -> None:
        self._tails: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(
        self, job: Callable[[], Coroutine[Any, Any, None]], chat_id: int | None = None
    ) -> None:
        """Run ``job`` in the background; its errors are logged, not raised.

        Args:
            job: Makes the coroutine to run.
            chat_id: The chat the job belongs to: it starts after the chat's earlier
                jobs. ``None``: it starts at once.

        """
        previous = self._tails.get(chat_id) if chat_id is not None else None
        task = asyncio.get_running_loop().create_task(self._run(chat_id, previous, job))
        if chat_id is not None:
            self._tails[chat_id] = task
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._forget(chat_id, done))

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for every running job."""
        if self._tasks:
            logger.info("Waiting for %d Telegram turn(s) to finish.", len(self._tasks))
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            if pending:
                logger.warning("%d Telegram turn(s) did not finish in time.", len(pending))

    @staticmethod
    async def _run(
        chat_id: int | None,
        previous: asyncio.Task[None] | None,
        job: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        try:
            await job()
        except Exception:
            logger.exception("Telegram job for chat %s failed.", chat_id)

    def _forget(self, chat_id: int | None, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if chat_id is not None and self._tails.get(chat_id) is task:
            del self._tails[chat_id]


class _SeenUpdates:
    """The most recent update ids, to process a redelivered update once."""

    def __init__(self, size: int = 4096) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._size = size

    def add(self, update_id: int) -> bool:
        """Remember ``update_id``; return whether it was new."""
        if update_id in self._ids:
            return False
        self._ids[update_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class TelegramWebhook:
    """Handles one webhook request, apart from the web framework.

    Args:
        settings: The channel's settings.
        client: The Bot API client.
        limiter: The per-sender rate limit.

    """

    def __init__(
        self, settings: TelegramSettings, client: TelegramClient, limiter: SenderRateLimiter
    ) -> None:
        self.settings = settings
        self.client = client
        self.limiter = limiter
        self.tasks = ChatTasks()
        self._seen = _SeenUpdates()

    def check_secret(self, header: str | None) -> None:
        """Compare the request's secret header with the configured one in constant time.

        Raises:
            UnauthorizedWebhookError: 401 without the header, 403 with a wrong one.

        """
        if not header:
            raise UnauthorizedWebhookError("missing secret token header", status_code=401)
        if not hmac.compare_digest(
            header.encode("utf-8"), self.settings.secret_token.encode("utf-8")
        ):
            raise UnauthorizedWebhookError("wrong secret token", status_code=403)

    def parse(self, body: bytes | None) -> Update:
        """Decode a webhook body into an update.

        Raises:
            PayloadTooLargeError: If the body is too large.
            BadRequestError: If it is not an update.

        """
        data = parse_json_body(body, self.settings.max_body_bytes)
        if not isinstance(data.get("update_id"), int):
            raise BadRequestError("not a Telegram update: no integer update_id")
        try:
            return Update.de_json(data, self.client.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise BadRequestError(f"malformed Telegram update: {type(e).__name__}") from e

    async def handle(
        self, secret: str | None, body: bytes | None, on_new_message: OnNewMessage
    ) -> tuple[int, dict[str, Any]]:
        """Check, parse and dispatch one update.

        Args:
            secret: The ``X-Telegram-Bot-Api-Secret-Token`` header.
            body: The raw body.
            on_new_message: Rasa's handler for user messages.

        Returns:
            The HTTP status and the JSON body to answer with.

        """
        try:
            self.check_secret(secret)
            update = self.parse(body)
        except BotError as e:
            logger.warning("Rejected a Telegram webhook request (%d): %s", e.status_code, e)
            return e.status_code, {"ok": False, "error": e.message}
        inbound = inbound_from_update(update)
        if not self._seen.add(inbound.update_id):
            logger.info("Telegram update %s was already received.", inbound.update_id)
            return 200, {"ok": True, "status": "duplicate"}
        status = self.dispatch(inbound, on_new_message)
        logger.info(
            "Telegram update %s (%s) for chat %s: %s.",
            inbound.update_id,
            inbound.detail,
            inbound.chat_id,
            status,
        )
        return 200, {"ok": True, "status": status}

    def dispatch(self, inbound: Inbound, on_new_message: OnNewMessage) -> str:
        """Start the work an update asks for, in the background.

        Returns:
            What happened: ``accepted``, ``ignored`` or ``rate_limited``.

        """
        payload = self._payload(inbound) if inbound.kind == "callback" else None
        if inbound.callback_query_id:
            self._answer_callback(inbound.callback_query_id, known=payload is not None)
        chat_id = inbound.chat_id
        if inbound.kind in ("edited", "ignored") or chat_id is None:
            return "ignored"
        if not self.limiter.allow(namespaced_sender_id(CHANNEL, str(chat_id))):
            return "rate_limited"
        job = self._job(inbound, chat_id, payload, on_new_message)
        if job is None:
            return "ignored"
        self.tasks.submit(job, chat_id)
        return "accepted"

    def _answer_callback(self, query_id: str, *, known: bool) -> None:
        text = None if known else EXPIRED_BUTTON_TEXT

        async def answer() -> None:
            await self.client.answer_callback(query_id, text)

        # Not queued behind the chat's turns, so the customer's spinner stops at once.
        self.tasks.submit(answer)

    def _payload(self, inbound: Inbound) -> str | None:
        if not inbound.callback_data:
            return None
        return self.client.payloads.decode(inbound.callback_data, inbound.keyboard)

    def _job(
        self,
        inbound: Inbound,
        chat_id: int,
        payload: str | None,
        on_new_message: OnNewMessage,
    ) -> Callable[[], Coroutine[Any, Any, None]] | None:
        to_rasa: str | None = None
        notice: str | None = None
        if inbound.kind == "text":
            to_rasa = inbound.text
        elif inbound.kind == "callback":
            to_rasa = payload
        elif inbound.kind == "command":
            to_rasa, notice = self._command(inbound.command or "")
        elif inbound.kind == "unsupported":
            notice = self.settings.text_only_text
        if to_rasa:
            message = self._user_message(inbound, chat_id, to_rasa)

            async def turn() -> None:
                await on_new_message(message)

            return turn
        if notice:
            text = notice

            async def reply() -> None:
                await self.client.send_messages(chat_id, full_reply(text))

            return reply
        return None

    def _command(self, command: str) -> tuple[str | None, str | None]:
        if command == "start":
            return self.settings.start_payload, None
        if command == "agent":
            return self.settings.agent_payload, None
        if command == "help":
            return None, self.settings.help_text
        return None, f"{UNKNOWN_COMMAND_TEXT}\n\n{self.settings.help_text}"

    def _user_message(self, inbound: Inbound, chat_id: int, text: str) -> UserMessage:
        return UserMessage(
            text,
            TelegramOutput(self.client),
            namespaced_sender_id(CHANNEL, str(chat_id)),
            input_channel=CHANNEL,
            metadata=message_metadata(
                CHANNEL,
                chat_id=chat_id,
                message_id=inbound.message_id,
                update_id=inbound.update_id,
            ),
        )


class TelegramInput(InputChannel):
    """Rasa's input channel for Telegram (``channels.telegram.TelegramInput``).

    Args:
        settings: The channel's settings.
        limiter: The per-sender rate limit.
        client: The Bot API client; made from ``settings`` when ``None``.

    """

    def __init__(
        self,
        settings: TelegramSettings,
        limiter: SenderRateLimiter | None = None,
        client: TelegramClient | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or TelegramClient(settings.access_token, settings.api_base_url)
        self.webhook = TelegramWebhook(settings, self.client, limiter or SenderRateLimiter())

    @classmethod
    def name(cls) -> str:
        """The channel's name, ``telegram`` (its routes are under ``/webhooks/telegram/``)."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its ``credentials.yml`` section."""
        try:
            settings = TelegramSettings.from_credentials(credentials or {})
        except KeyError:
            cls.raise_missing_credentials_exception()
        return cls(settings, SenderRateLimiter.from_credentials(credentials))

    def get_output_channel(self) -> OutputChannel | None:
        """The output channel Rasa uses outside a webhook request (e.g. reminders)."""
        return TelegramOutput(self.client)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Return the webhook routes, and register the channel's outbound sender.

        Args:
            on_new_message: Rasa's handler for user messages.

        Returns:
            ``GET /`` (health) and ``POST /webhook``.

        """
        outbound_registry().register(TelegramOutboundSender(self.client))
        telegram_webhook = Blueprint("telegram_webhook", __name__)

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            status, body = await self.webhook.handle(
                request.headers.get(SECRET_HEADER), request.body, on_new_message
            )
            return response.json(body, status=status)

        @telegram_webhook.listener("before_server_stop")
        async def finish(_app: Any, _loop: Any) -> None:
            await self.webhook.tasks.drain(self.settings.drain_seconds)
            await self.client.close()

        return telegram_webhook
