"""The email channel: customers write to the support address, the bot answers in thread.

Mail comes in two ways: an IMAP mailbox polled in the background (started and stopped
with the Sanic server), and ``POST /webhooks/email/inbound`` for providers that post the
raw RFC 822 message (``Content-Type: message/rfc822``, secret in ``X-Webhook-Secret``).
Both go through :class:`EmailResponder`: size limit, loop protection
(:mod:`channels.email_loops`), parsing (:mod:`channels.email_mime`), per-sender rate limit,
one Rasa turn, and one threaded reply per turn (:mod:`channels.email_reply`) sent with
SMTP (:mod:`channels.email_smtp`). Agents' replies go out through
:class:`EmailOutboundSender`, which threads them with what :mod:`channels.email_store`
remembers.

``import email`` in the modules of this package resolves to the standard library: imports
are absolute, and this module is ``channels.email``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.nlg.adapter import AdaptedReply
from channels.base import (
    PayloadTooLargeError,
    RateLimitedError,
    SenderRateLimiter,
    adapted_reply,
    message_metadata,
    namespaced_sender_id,
    outbound_registry,
)
from channels.email_imap import ImapPoller, ImapSettings
from channels.email_loops import automated_reason
from channels.email_mime import CHANNEL, address_hash, parse_inbound, parse_message
from channels.email_reply import (
    MailIdentity,
    ThreadState,
    build_reply,
    merge_replies,
    thread_references,
)
from channels.email_smtp import Mailer, SmtpMailer, SmtpSettings
from channels.email_store import EmailThreadStore, SQLiteEmailThreadStore
from common.errors import BotError, ConfigError

__all__ = [
    "EmailInput",
    "EmailOutboundSender",
    "EmailOutput",
    "EmailResponder",
    "EmailSettings",
    "HandleOutcome",
    "UnknownThreadError",
]

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Webhook-Secret"
"""Header that carries the webhook's shared secret."""

DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
DEFAULT_THREAD_STORE = ".rasa/email_threads.sqlite3"
_NO_REPLY = re.compile(r"^(no-?reply|do-?not-?reply|noreply)([+.-].*)?$", re.IGNORECASE)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class UnknownThreadError(BotError):
    """An agent answers a conversation the email channel has no thread for."""

    status_code = 404


@dataclass(frozen=True)
class EmailSettings:
    """The channel's configuration, from its section of ``credentials.yml``.

    Attributes:
        identity: From, Reply-To and display name.
        smtp: The outgoing server.
        imap: The mailbox to poll, or None for webhook only.
        webhook_secret: Shared secret of the inbound webhook; empty disables it.
        max_message_bytes: Largest inbound message handled.
        thread_store: SQLite file that keeps each conversation's thread.

    """

    identity: MailIdentity
    smtp: SmtpSettings
    imap: ImapSettings | None
    webhook_secret: str
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    thread_store: Path = Path(DEFAULT_THREAD_STORE)

    @property
    def own_addresses(self) -> frozenset[str]:
        """Our addresses: mail from them is never answered."""
        candidates = [self.identity.from_address, self.identity.reply_to]
        if self.imap and "@" in self.imap.user:
            candidates.append(self.imap.user)
        return frozenset(a.strip().lower() for a in candidates if a)

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> EmailSettings:
        """Read the channel's credentials.

        Raises:
            ConfigError: If a required key is missing or Reply-To is a no-reply address.

        """
        values = dict(credentials or {})
        from_address = str(values.get("from_address") or "").strip()
        if "@" not in from_address:
            raise ConfigError("email channel: from_address is required")
        reply_to = str(values.get("reply_to") or from_address).strip()
        if "@" not in reply_to or _NO_REPLY.match(reply_to.partition("@")[0]):
            raise ConfigError("email channel: reply_to must be a monitored support address")
        return cls(
            identity=MailIdentity(from_address, reply_to, str(values.get("display_name") or "")),
            smtp=SmtpSettings.from_mapping(values.get("smtp")),
            imap=ImapSettings.from_mapping(values.get("imap")),
            webhook_secret=str(values.get("webhook_secret") or ""),
            max_message_bytes=int(values.get("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES)),
            thread_store=Path(str(values.get("thread_store") or DEFAULT_THREAD_STORE)),
        )


class EmailOutput(OutputChannel):
    """Collects a turn's bot messages, adapted for email, to send them as one mail."""

    def __init__(self) -> None:
        self.replies: list[AdaptedReply] = []

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Keep one bot message (as the email adapter shaped it) for the turn's mail."""
        reply = adapted_reply(message, CHANNEL)
        if reply.text.strip():
            self.replies.append(reply)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Keep a plain text message for the turn's mail."""
        await self.send_response(recipient_id, {"text": text})


@dataclass(frozen=True)
class HandleOutcome:
    """What happened to one inbound mail.

    Attributes:
        status: ``answered``, ``no_reply`` (the bot said nothing) or ``ignored``.
        reason: Why it was ignored (``auto-submitted``, ``empty``, ...), or None.
        sender_id: The conversation, when the mail was read.

    """

    status: Literal["answered", "no_reply", "ignored"]
    reason: str | None = None
    sender_id: str | None = None


class EmailResponder:
    """Takes one inbound mail through the bot and answers it in thread.

    Args:
        settings: The channel's configuration.
        mailer: Sends the replies.
        store: Remembers each conversation's thread.
        limiter: The per-sender rate limit.

    """

    def __init__(
        self,
        settings: EmailSettings,
        mailer: Mailer,
        store: EmailThreadStore,
        limiter: SenderRateLimiter,
    ) -> None:
        self.settings = settings
        self.mailer = mailer
        self.store = store
        self.limiter = limiter

    async def handle(self, raw: bytes, on_new_message: OnNewMessage) -> HandleOutcome:
        """Answer one inbound mail, unless it must not be answered.

        The reply is handed to SMTP before this returns, so a caller that flags the
        mail done afterwards never loses one.

        Args:
            raw: The RFC 822 message.
            on_new_message: Rasa's handler for user messages.

        Returns:
            The outcome.

        Raises:
            PayloadTooLargeError: If the mail is larger than the configured limit.
            BadEmailError: If it is not a readable mail.
            RateLimitedError: If its sender is over the rate limit.
            EmailDeliveryError: If the SMTP server refused the reply.

        """
        limit = self.settings.max_message_bytes
        if len(raw) > limit:
            raise PayloadTooLargeError(f"mail of {len(raw)} bytes exceeds {limit}")
        message = parse_message(raw)
        reason = automated_reason(message, self.settings.own_addresses)
        if reason is not None:
            logger.info("Ignoring an automated mail (%s).", reason)
            return HandleOutcome("ignored", reason)
        inbound = parse_inbound(raw, message)
        sender_id = inbound.sender_id
        self.limiter.check(namespaced_sender_id(CHANNEL, address_hash(inbound.sender)))
        if not inbound.text:
            logger.info("Ignoring a mail without text from %s.", sender_id)
            return HandleOutcome("ignored", "empty", sender_id)
        thread = ThreadState(
            sender_id,
            inbound.sender,
            inbound.subject,
            inbound.message_id,
            thread_references(inbound.references, inbound.in_reply_to, inbound.message_id),
        )
        output = EmailOutput()
        metadata = message_metadata(
            CHANNEL,
            thread_root=inbound.thread_root,
            message_id=inbound.message_id,
            attachments=inbound.attachments,
            html_only=inbound.html_only,
        )
        await on_new_message(
            UserMessage(
                inbound.text,
                output,
                sender_id,
                input_channel=CHANNEL,
                metadata=metadata,
            )
        )
        text, html = merge_replies(output.replies)
        if not text:
            await self.store.save(thread)
            logger.info("The bot had nothing to say to %s; no mail sent.", sender_id)
            return HandleOutcome("no_reply", None, sender_id)
        mail = build_reply(self.settings.identity, thread, text, html)
        await self.mailer.send(mail)
        await self.store.save(thread.after(str(mail["Message-ID"])))
        logger.info(
            "Answered a mail from %s (%d bot message(s), %d attachment(s) ignored).",
            sender_id,
            len(output.replies),
            inbound.attachments,
        )
        return HandleOutcome("answered", None, sender_id)

    async def handle_polled(self, raw: bytes, on_new_message: OnNewMessage) -> None:
        """Handle a mail read from IMAP: client errors are logged and the mail is done.

        Raises:
            BotError: A server-side failure (e.g. SMTP), so the mail stays unseen.

        """
        try:
            await self.handle(raw, on_new_message)
        except BotError as e:
            if e.status_code >= 500:
                raise
            logger.warning("Skipping an IMAP mail: %s (%s).", type(e).__name__, e.status_code)


class EmailOutboundSender:
    """Sends agents' replies into the customer's mail thread.

    Args:
        settings: The channel's configuration.
        mailer: Sends the mails.
        store: Where the conversations' threads are.

    """

    channel = CHANNEL

    def __init__(self, settings: EmailSettings, mailer: Mailer, store: EmailThreadStore) -> None:
        self.settings = settings
        self.mailer = mailer
        self.store = store

    async def send_text(self, recipient_id: str, text: str, *, author: str = "agent") -> None:
        """Mail ``text`` to the customer of ``recipient_id``, in the conversation's thread.

        Args:
            recipient_id: ``<address hash>:<thread root>`` (the sender id without
                ``email:``).
            text: The reply, light Markdown.
            author: ``agent`` or ``bot``; only bot mails are marked auto-replied.

        Raises:
            UnknownThreadError: If the channel never saw this conversation.
            EmailDeliveryError: If the SMTP server refused the mail.

        """
        sender_id = namespaced_sender_id(CHANNEL, recipient_id)
        thread = await self.store.get(sender_id)
        if thread is None:
            raise UnknownThreadError(f"no email thread for {sender_id}")
        text_part, html_part = merge_replies([adapted_reply({"text": text}, CHANNEL)])
        if not text_part:
            logger.info("Nothing to send to %s after adaptation.", sender_id)
            return
        mail = build_reply(
            self.settings.identity, thread, text_part, html_part, auto_submitted=author == "bot"
        )
        await self.mailer.send(mail)
        await self.store.save(thread.after(str(mail["Message-ID"])))
        logger.info("Mailed an %s reply to %s.", author, sender_id)

    async def send_handoff_state(self, recipient_id: str, state: str) -> None:
        """Do nothing: mail has no status line; the bot's own words announce a handoff."""
        logger.debug("Handoff state %s for email conversation %s not mailed.", state, recipient_id)


class EmailInput(InputChannel):
    """Rasa input channel ``email``: IMAP polling and an inbound webhook.

    Args:
        settings: The channel's configuration.
        limiter: The per-sender rate limit.

    """

    def __init__(self, settings: EmailSettings, limiter: SenderRateLimiter | None = None) -> None:
        self.settings = settings
        self.limiter = limiter or SenderRateLimiter()
        self.mailer: Mailer = SmtpMailer(settings.smtp)
        self.store: EmailThreadStore = SQLiteEmailThreadStore(settings.thread_store)
        self._poller_task: asyncio.Task[None] | None = None

    @classmethod
    def name(cls) -> str:
        """The channel's name, also its URL prefix (``/webhooks/email``)."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its ``credentials.yml`` section."""
        return cls(
            EmailSettings.from_credentials(credentials),
            SenderRateLimiter.from_credentials(credentials),
        )

    def _authorised(self, request: Request) -> bool:
        secret = self.settings.webhook_secret
        given = request.headers.get(SECRET_HEADER, "")
        return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Return the webhook routes; register the outbound sender and the IMAP poller."""
        responder = EmailResponder(self.settings, self.mailer, self.store, self.limiter)
        outbound_registry().register(EmailOutboundSender(self.settings, self.mailer, self.store))
        bp = Blueprint(f"email_webhook_{id(self)}", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "imap": self.settings.imap is not None})

        @bp.route("/inbound", methods=["POST"])
        async def inbound(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "missing or wrong webhook secret"}, status=401)
            content_type = (request.content_type or "").split(";")[0].strip().lower()
            if content_type != "message/rfc822":
                return response.json({"error": "expected message/rfc822"}, status=415)
            try:
                outcome = await responder.handle(request.body or b"", on_new_message)
            except BotError as e:
                if isinstance(e, (PayloadTooLargeError, RateLimitedError)):
                    logger.warning("Inbound mail refused: %s.", type(e).__name__)
                return response.json({"error": e.message}, status=e.status_code)
            return response.json(
                {"status": outcome.status, "reason": outcome.reason, "sender": outcome.sender_id}
            )

        imap = self.settings.imap
        if imap is not None:

            async def polled(raw: bytes) -> None:
                await responder.handle_polled(raw, on_new_message)

            poller = ImapPoller(imap, polled, self.settings.max_message_bytes)

            @bp.listener("after_server_start")
            async def start_polling(_app: Any, _loop: Any) -> None:
                self._poller_task = asyncio.create_task(poller.run())

            @bp.listener("before_server_stop")
            async def stop_polling(_app: Any, _loop: Any) -> None:
                task, self._poller_task = self._poller_task, None
                if task is not None:
                    task.cancel()
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
                    logger.info("Stopped polling IMAP.")

        return bp
