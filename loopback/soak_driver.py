"""Drive the four channels at once against one running Rasa server (issue 5's soak).

Shared by ``tests/integration/test_soak.py`` and ``bench/soak.py``. The channels run
against this package's local fakes, the ones their integration tests use: the web chat
through a socket.io client, Slack through signed Events API posts and the fake Web API,
Telegram through webhook updates and the fake Bot API, email through the inbound webhook
(IMAP polling is too slow for hundreds of mails) and an SMTP collector.

Each conversation sends its messages one after the other, waiting for the turn to end
before the next, as a person would; the four channels run at once, each with a bounded
number of conversations in flight (``SoakPlan.concurrency``; a web session connects
when its turn to talk comes). With many more at once on a 2-core machine, Rasa's event
loop is busy with inference for seconds at a time and the channels' own HTTP timeouts
fire (Telegram's 5 s connect timeout, socket.io's ping timeout). A
turn has ended when the channel says so (web: ``bot_typing`` off; email: the webhook
answered) or, for the channels that answer in the background (Slack, Telegram), when
Rasa's tracker holds the message and ends in ``action_listen`` (Rasa saves the tracker
after the replies went out). The replies a channel delivered during a turn are then
compared with the bot messages Rasa's tracker holds for that turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import yaml
from slack_sdk.signature import SignatureVerifier

from channels.base import namespaced_sender_id
from loopback.fake_slack import FakeSlack
from loopback.fake_telegram import FakeTelegramServer, text_update
from loopback.mail_samples import plain_mail, raw
from loopback.mail_servers import SmtpServer, smtp_collector
from loopback.rasa_server import RunningBot, running_bot
from loopback.webchat_client import Client

logger = logging.getLogger(__name__)

CHANNELS = ("web", "slack", "telegram", "email")
TEXTS = (
    "hi",
    "hello there",
    "good morning",
    "what payment methods do you accept?",
    "can I pay with paypal?",
    "what are your shipping options?",
    "how much does express delivery cost?",
    "thanks",
    "thank you so much",
    "bye",
)
"""Texts with a fixed kind of answer and no escalation (no complaints, no "a person")."""

SLACK_TOKEN = "xoxb-soak-token"
SLACK_SECRET = "soak-signing-secret"
SLACK_TEAM = "T0SOAK001"
TELEGRAM_TOKEN = "7000000001:AAH-soak-token_for-tests"
TELEGRAM_SECRET = "soak-secret_42"
EMAIL_SECRET = "soak-hook-secret"
SUPPORT = "support@pinecrest.example"
RATE_LIMIT = {"rate": 100.0, "burst": 100}
"""Per-sender limit for the soak: the default (1/s, bursts of 10) would throttle it."""
TURN_TIMEOUT_S = 90.0
WEB_CONNECT_ATTEMPTS = 6
POLL_S = 0.02


class SoakError(Exception):
    """A turn did not complete as the channel promises (no answer, a refusal)."""


# --------------------------------------------------------------------------- servers


@dataclass
class Fakes:
    """The platforms' local stand-ins the channels talk to."""

    slack: FakeSlack
    telegram: FakeTelegramServer
    smtp: SmtpServer

    def credentials(self, tmp: Path) -> str:
        """Return credentials.yml enabling REST and the four channels against the fakes.

        Args:
            tmp: Folder for the email channel's thread store.

        """
        limit = dict(RATE_LIMIT)
        return yaml.safe_dump(
            {
                "rest": None,
                "channels.webchat.WebChatInput": {"rate_limit": limit},
                "channels.slack.SlackInput": {
                    "bot_token": self.slack.token,
                    "signing_secret": SLACK_SECRET,
                    "api_base_url": self.slack.base_url,
                    "rate_limit": limit,
                },
                "channels.telegram.TelegramInput": {
                    "access_token": TELEGRAM_TOKEN,
                    "secret_token": TELEGRAM_SECRET,
                    "api_base_url": self.telegram.url,
                    "rate_limit": limit,
                },
                "channels.email.EmailInput": {
                    "from_address": SUPPORT,
                    "display_name": "Pinecrest Support",
                    "webhook_secret": EMAIL_SECRET,
                    "thread_store": str(tmp / "email_threads.sqlite3"),
                    "rate_limit": limit,
                    "smtp": {
                        "host": self.smtp.host,
                        "port": self.smtp.port,
                        "starttls": False,
                    },
                },
            },
            sort_keys=False,
        )


@contextmanager
def soak_bot(model: Path, tmp: Path) -> Iterator[tuple[RunningBot, Fakes]]:
    """Start the fakes and one Rasa server (plus its action server) with all channels."""
    with ExitStack() as stack:
        fakes = Fakes(
            slack=stack.enter_context(FakeSlack(SLACK_TOKEN).in_thread()),
            telegram=stack.enter_context(FakeTelegramServer(TELEGRAM_TOKEN)),
            smtp=stack.enter_context(smtp_collector()),
        )
        bot = stack.enter_context(running_bot(model, tmp, credentials=fakes.credentials(tmp)))
        yield bot, fakes


# --------------------------------------------------------------------------- records


@dataclass
class Exchange:
    """One inbound message and what the channel delivered for it."""

    channel: str
    sender_id: str
    text: str
    sent_at: float
    first_reply_at: float | None = None
    replies: int = 0

    @property
    def latency_s(self) -> float | None:
        """Seconds from sending to the first delivered reply."""
        return None if self.first_reply_at is None else self.first_reply_at - self.sent_at


class Inbox:
    """Deliveries per recipient, read from a fake's recorded calls by one poller.

    Args:
        source: Returns all recorded deliveries so far as ``(recipient, time or None)``;
            ``None`` stamps a delivery with the time the poller saw it.

    """

    def __init__(self, source: Callable[[], list[tuple[str, float | None]]]) -> None:
        self._source = source
        self._seen = 0
        self.times: dict[str, list[float]] = defaultdict(list)
        self._changed = asyncio.Condition()

    def refresh(self) -> None:
        """Read the deliveries recorded since the last refresh."""
        items = self._source()
        now = time.time()
        for recipient, at in items[self._seen :]:
            self.times[recipient].append(now if at is None else at)
        self._seen = len(items)

    def count(self, recipient: str) -> int:
        """Deliveries to ``recipient`` seen so far."""
        return len(self.times.get(recipient, ()))

    async def poll(self) -> None:
        """Refresh every few milliseconds and wake the waiters (run as a task).

        The waiters are woken whenever more deliveries have been seen than at the last
        wake-up, whoever read them: a conversation's own :meth:`refresh` may pick up
        another recipient's delivery, and comparing only with the count before this
        task's refresh would then never wake that recipient's waiter (it timed out
        although its reply had arrived in time).
        """
        woken_at = 0
        while True:
            self.refresh()
            if self._seen != woken_at:
                woken_at = self._seen
                async with self._changed:
                    self._changed.notify_all()
            await asyncio.sleep(POLL_S)

    async def wait_beyond(self, recipient: str, count: int) -> float:
        """Wait for delivery number ``count + 1`` to ``recipient``; return its time."""
        try:
            async with self._changed:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.count(recipient) > count),
                    TURN_TIMEOUT_S,
                )
        except asyncio.TimeoutError as e:
            raise SoakError(f"no reply {count + 1} within {TURN_TIMEOUT_S:.0f} s") from e
        return self.times[recipient][count]


# --------------------------------------------------------------------------- rasa


async def tracker_events(http: aiohttp.ClientSession, url: str, sender_id: str) -> list[dict]:
    """Return the events of a conversation's tracker (``--enable-api``)."""
    async with http.get(f"{url}/conversations/{quote(sender_id, safe=':')}/tracker") as r:
        r.raise_for_status()
        return list((await r.json())["events"])


async def wait_turn_done(http: aiohttp.ClientSession, url: str, sender_id: str, turns: int) -> None:
    """Wait until the tracker holds ``turns`` user messages and listens again."""
    deadline, pause = time.monotonic() + TURN_TIMEOUT_S, 0.05
    while True:
        events = await tracker_events(http, url, sender_id)
        users = sum(e["event"] == "user" for e in events)
        if users >= turns and events[-1].get("name") == "action_listen":
            return
        if time.monotonic() > deadline:
            raise SoakError(f"turn {turns} of {sender_id} did not end")
        await asyncio.sleep(pause)
        pause = min(1.0, pause * 1.5)  # back off: the polls must not load the server


async def probe_replies(
    http: aiohttp.ClientSession, url: str, texts: Sequence[str]
) -> dict[str, int]:
    """Ask the REST channel each text once, in a fresh conversation; count the replies.

    Raises:
        SoakError: If a text gets no reply (the soak would then measure nothing).

    """
    counts: dict[str, int] = {}
    for text in texts:
        body = {"sender": f"soak-probe-{uuid.uuid4().hex[:12]}", "message": text}
        async with http.post(f"{url}/webhooks/rest/webhook", json=body) as r:
            r.raise_for_status()
            counts[text] = len(await r.json())
        if counts[text] < 1:
            raise SoakError(f"the bot does not answer {text!r}")
    return counts


# --------------------------------------------------------------------------- channels


class Conversation(Protocol):
    """One customer on one channel."""

    channel: str
    sender_id: str

    async def open(self) -> None:
        """Connect (web) or do nothing."""

    async def say(self, text: str, turn: int) -> Exchange:
        """Send turn number ``turn`` (1-based); return when the turn has ended."""

    def delivered(self) -> int:
        """All replies delivered to this conversation so far."""

    async def close(self) -> None:
        """Disconnect (web) or do nothing."""


class Delivered(Protocol):
    """What the checker needs of a finished conversation."""

    channel: str
    sender_id: str

    def delivered(self) -> int:
        """All replies delivered to this conversation so far."""


class WebConversation:
    """A widget session over socket.io (``web:<session id>``).

    Like the widget, it reconnects to the same session when the server dropped the
    socket (a busy server misses socket.io's ping deadline), and retries a handshake
    that the test client gave up on (it waits 5 s); :attr:`reconnects` counts both.
    """

    channel = "web"

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = uuid.uuid4().hex
        self.sender_id = namespaced_sender_id("web", self.session)
        self.client = Client()
        self.reconnects = 0
        self._count = 0

    async def open(self) -> None:
        """Connect to the session, retrying a lost handshake."""
        if self.client.connected:
            return
        for attempt in range(WEB_CONNECT_ATTEMPTS):
            self.reconnects += attempt > 0
            await self.client.close()
            self.client = Client()
            try:
                confirmed = await self.client.connect(self.url, self.session)
            except asyncio.TimeoutError:
                continue
            if confirmed != self.session:
                raise SoakError("the web channel did not confirm the session")
            return
        raise SoakError(f"{self.sender_id} could not connect")

    async def say(self, text: str, turn: int) -> Exchange:
        """Send the text and wait for the widget's typing indicator to go off."""
        if not self.client.connected:
            self.reconnects += 1
            await self.open()
        exchange = Exchange(self.channel, self.sender_id, text, time.time())
        await self.client.say(text)
        while True:
            try:
                name, data = await self.client.next(timeout=TURN_TIMEOUT_S)
            except asyncio.TimeoutError as e:
                raise SoakError(f"turn {turn} of {self.sender_id} did not end") from e
            if name == "bot_uttered":
                exchange.replies += 1
                exchange.first_reply_at = exchange.first_reply_at or time.time()
            elif name == "bot_error":
                raise SoakError(f"the web channel refused turn {turn} of {self.sender_id}")
            elif name == "bot_typing" and not (data or {}).get("typing"):
                break
        self._count += exchange.replies
        return exchange

    def delivered(self) -> int:
        """Return the replies delivered so far, late ones included."""
        late = 0
        while not self.client.events.empty():
            name, _ = self.client.events.get_nowait()
            late += name == "bot_uttered"
        self._count += late
        return self._count

    async def close(self) -> None:
        """Close the socket."""
        await self.client.close()


class SlackConversation:
    """A direct message channel with the bot (``slack:<team>:<D…>``)."""

    channel = "slack"

    def __init__(self, http: aiohttp.ClientSession, url: str, inbox: Inbox) -> None:
        self.http, self.url, self.inbox = http, url, inbox
        self.dm = f"D{uuid.uuid4().hex[:10].upper()}"
        self.user = f"U{uuid.uuid4().hex[:10].upper()}"
        self.sender_id = namespaced_sender_id("slack", f"{SLACK_TEAM}:{self.dm}")
        self._count = 0

    async def open(self) -> None:
        """Nothing to open: Slack's events come over HTTP."""
        return None

    def _signed(self, text: str) -> tuple[bytes, dict[str, str]]:
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": self.dm,
            "user": self.user,
            "text": text,
            "ts": f"{time.time():.6f}",
        }
        envelope = {
            "type": "event_callback",
            "team_id": SLACK_TEAM,
            "api_app_id": "A0SOAK001",
            "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "event": event,
        }
        body = json.dumps(envelope)
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(SLACK_SECRET).generate_signature(
            timestamp=timestamp, body=body
        )
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature or "",
        }
        return body.encode(), headers

    async def say(self, text: str, turn: int) -> Exchange:
        """Post a signed message event; wait for the replies and for Rasa's turn to end."""
        body, headers = self._signed(text)
        exchange = Exchange(self.channel, self.sender_id, text, time.time())
        async with self.http.post(
            f"{self.url}/webhooks/slack/events", data=body, headers=headers
        ) as r:
            if r.status != 200:
                raise SoakError(f"Slack event refused with {r.status}")
        exchange.first_reply_at = await self.inbox.wait_beyond(self.dm, self._count)
        await wait_turn_done(self.http, self.url, self.sender_id, turn)
        self.inbox.refresh()
        exchange.replies = self.inbox.count(self.dm) - self._count
        self._count += exchange.replies
        return exchange

    def delivered(self) -> int:
        """Return the replies the fake Slack API received in this DM so far."""
        self.inbox.refresh()
        return self.inbox.count(self.dm)

    async def close(self) -> None:
        """Nothing to close."""
        return None


class TelegramConversation:
    """A private chat (``telegram:<chat id>``)."""

    channel = "telegram"

    def __init__(
        self, http: aiohttp.ClientSession, url: str, inbox: Inbox, chat_id: int, update_ids: Any
    ) -> None:
        self.http, self.url, self.inbox = http, url, inbox
        self.chat_id = chat_id
        self.update_ids = update_ids
        self.sender_id = namespaced_sender_id("telegram", str(chat_id))
        self._count = 0

    async def open(self) -> None:
        """Nothing to open: Telegram's updates come over HTTP."""
        return None

    async def say(self, text: str, turn: int) -> Exchange:
        """Post a text update to the webhook; wait for the replies and for Rasa's turn to end."""
        update = text_update(next(self.update_ids), self.chat_id, text, message_id=turn)
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        exchange = Exchange(self.channel, self.sender_id, text, time.time())
        async with self.http.post(
            f"{self.url}/webhooks/telegram/webhook", json=update, headers=headers
        ) as r:
            status = (await r.json()).get("status") if r.status == 200 else r.status
            if status != "accepted":
                raise SoakError(f"Telegram update not accepted: {status}")
        key = str(self.chat_id)
        exchange.first_reply_at = await self.inbox.wait_beyond(key, self._count)
        await wait_turn_done(self.http, self.url, self.sender_id, turn)
        self.inbox.refresh()
        exchange.replies = self.inbox.count(key) - self._count
        self._count += exchange.replies
        return exchange

    def delivered(self) -> int:
        """Return the replies the fake Bot API received for this chat so far."""
        self.inbox.refresh()
        return self.inbox.count(str(self.chat_id))

    async def close(self) -> None:
        """Nothing to close."""
        return None


class EmailConversation:
    """One customer's mail thread, posted to the inbound webhook (``email:<hash>:<root>``)."""

    channel = "email"

    def __init__(self, http: aiohttp.ClientSession, url: str, smtp: SmtpServer) -> None:
        self.http, self.url, self.smtp = http, url, smtp
        self.address = f"customer-{uuid.uuid4().hex[:10]}@example.org"
        self.sender_id = ""
        self._inbound_ids: list[str] = []
        self._last_reply: str | None = None
        self._references: list[str] = []

    async def open(self) -> None:
        """Nothing to open: mails come over the inbound webhook."""
        return None

    def _replies_to(self, message_id: str) -> list[Any]:
        return self.smtp.handler.matching(lambda m: m.get("In-Reply-To") == message_id)

    async def say(self, text: str, turn: int) -> Exchange:
        """Post the next mail of the thread; the webhook answers when the reply is sent."""
        message_id = f"<{uuid.uuid4().hex}@example.org>"
        mail = plain_mail(
            text,
            sender=f"Soak Customer <{self.address}>",
            to=SUPPORT,
            subject="Re: Question" if self._last_reply else "Question",
            message_id=message_id,
            in_reply_to=self._last_reply,
            references=" ".join(self._references) or None,
        )
        headers = {"Content-Type": "message/rfc822", "X-Webhook-Secret": EMAIL_SECRET}
        exchange = Exchange(self.channel, self.sender_id, text, time.time())
        async with self.http.post(
            f"{self.url}/webhooks/email/inbound", data=raw(mail), headers=headers
        ) as r:
            outcome = await r.json() if r.status == 200 else {"status": r.status}
        exchange.first_reply_at = time.time()
        if outcome.get("status") != "answered":
            raise SoakError(f"mail turn {turn} was not answered: {outcome.get('status')}")
        if self.sender_id and outcome["sender"] != self.sender_id:
            raise SoakError("a reply in the thread started a new conversation")
        self.sender_id = exchange.sender_id = str(outcome["sender"])
        replies = self._replies_to(message_id)
        exchange.replies = len(replies)
        self._inbound_ids.append(message_id)
        if replies:
            self._last_reply = str(replies[-1]["Message-ID"])
            self._references = str(replies[-1]["References"]).split() + [self._last_reply]
        return exchange

    def delivered(self) -> int:
        """Return the replies the SMTP collector received in this thread so far."""
        return sum(len(self._replies_to(m)) for m in self._inbound_ids)

    async def close(self) -> None:
        """Nothing to close."""
        return None


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class SoakPlan:
    """How many messages, and how they are spread.

    Attributes:
        messages: Messages in all, spread evenly over the four channels.
        per_sender: Messages each conversation sends, one after the other.
        concurrency: Conversations in flight at once per channel (the others wait).
        seed: Picks each conversation's texts from :data:`TEXTS`.
        quiet_s: How long to wait at the end for late, unwanted replies.

    """

    messages: int = 500
    per_sender: int = 5
    concurrency: int = 5
    seed: int = 5
    quiet_s: float = 2.0

    def scripts(self) -> dict[str, list[list[str]]]:
        """Return each channel's conversations, each a list of texts."""
        rng = random.Random(self.seed)
        scripts: dict[str, list[list[str]]] = {}
        for i, channel in enumerate(CHANNELS):
            total = self.messages // len(CHANNELS) + (i < self.messages % len(CHANNELS))
            senders = math.ceil(total / self.per_sender) if total else 0
            sizes = [total // senders + (j < total % senders) for j in range(senders)]
            scripts[channel] = [[rng.choice(TEXTS) for _ in range(n)] for n in sizes]
        return scripts


@dataclass
class ConversationResult:
    """A conversation's exchanges and what checking them against Rasa found."""

    channel: str
    sender_id: str
    exchanges: list[Exchange]
    problems: list[str] = field(default_factory=list)
    reconnects: int = 0


@dataclass
class _Run:
    """A conversation's script and, once run, its exchanges and the error that ended it."""

    conversation: Conversation
    texts: list[str]
    exchanges: list[Exchange] = field(default_factory=list)
    error: str | None = None


@dataclass
class SoakReport:
    """What a soak run measured and found."""

    plan: SoakPlan
    wall_s: float
    probe: dict[str, int]
    conversations: list[ConversationResult]

    @property
    def exchanges(self) -> list[Exchange]:
        """Every exchange of every conversation."""
        return [e for c in self.conversations for e in c.exchanges]

    @property
    def problems(self) -> list[str]:
        """Every problem found, over all conversations."""
        return [p for c in self.conversations for p in c.problems]

    def summary(self) -> dict[str, Any]:
        """Throughput and latency per channel and overall, as plain data."""
        rows = {}
        for channel in CHANNELS:
            mine = [e for e in self.exchanges if e.channel == channel]
            latencies = sorted(e.latency_s for e in mine if e.latency_s is not None)
            rows[channel] = {
                "messages": len(mine),
                "conversations": sum(c.channel == channel for c in self.conversations),
                "replies": sum(e.replies for e in mine),
                "p50_ms": _ms(_percentile(latencies, 50)),
                "p95_ms": _ms(_percentile(latencies, 95)),
                "max_ms": _ms(latencies[-1] if latencies else None),
            }
        total = len(self.exchanges)
        return {
            "messages": total,
            "wall_s": round(self.wall_s, 2),
            "messages_per_s": round(total / self.wall_s, 2) if self.wall_s else None,
            "channels": rows,
            "web_reconnects": sum(c.reconnects for c in self.conversations),
            "problems": self.problems,
        }

    def markdown(self) -> str:
        """The summary as a Markdown table."""
        summary = self.summary()
        lines = [
            "| channel | conversations | messages | replies | p50 reply (ms) "
            "| p95 reply (ms) | max (ms) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for channel, row in summary["channels"].items():
            lines.append(
                f"| {channel} | {row['conversations']} | {row['messages']} | {row['replies']} "
                f"| {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |"
            )
        lines.append(
            f"\n{summary['messages']} messages in {summary['wall_s']} s: "
            f"**{summary['messages_per_s']} messages/s**; "
            f"{len(summary['problems'])} problems; "
            f"{summary['web_reconnects']} web socket reconnects."
        )
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Everything but the per-message records, for ``bench/results``."""
        return {"plan": asdict(self.plan), "probe": self.probe, **self.summary()}


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    rank = max(1, math.ceil(q / 100 * len(values)))
    return values[rank - 1]


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def check_conversation(
    conversation: Delivered, exchanges: list[Exchange], events: list[dict]
) -> list[str]:
    """Compare what the channel delivered with what Rasa's tracker holds.

    Each sent message must be exactly one user event, in order, with at least one bot
    message after it; each turn's deliveries must match its bot messages (one mail per
    turn on email, one delivery per bot message elsewhere), with none arriving late.

    Returns:
        The problems found, empty when every message was answered exactly once.

    """
    sender = conversation.sender_id
    turns: list[tuple[str, int]] = []
    for event in events:
        if event["event"] == "user":
            turns.append((str(event.get("text") or ""), 0))
        elif event["event"] == "bot" and turns:
            text, bots = turns[-1]
            turns[-1] = (text, bots + 1)
    problems = []
    sent = [e.text for e in exchanges]
    if len(turns) != len(sent):
        problems.append(f"{sender}: {len(sent)} messages sent, {len(turns)} user events")
    elif conversation.channel != "email" and [t for t, _ in turns] != sent:
        problems.append(f"{sender}: the tracker's user texts differ from those sent")
    for i, (exchange, (_, bots)) in enumerate(zip(exchanges, turns, strict=False), 1):
        expected = min(bots, 1) if conversation.channel == "email" else bots
        if bots < 1:
            problems.append(f"{sender}: turn {i} has no bot message")
        if exchange.replies != expected:
            problems.append(
                f"{sender}: turn {i} got {exchange.replies} replies for {bots} bot messages"
            )
    late = conversation.delivered() - sum(e.replies for e in exchanges)
    if late:
        problems.append(f"{sender}: {late} replies arrived after the conversation ended")
    return problems


async def _converse(run: _Run, slots: asyncio.Semaphore) -> None:
    async with slots:
        try:
            await run.conversation.open()
            for turn, text in enumerate(run.texts, 1):
                run.exchanges.append(await run.conversation.say(text, turn))
        except (SoakError, asyncio.TimeoutError, aiohttp.ClientError, OSError) as e:
            run.error = f"{run.conversation.sender_id}: {type(e).__name__}: {e}"
            logger.warning("Soak conversation stopped: %s", run.error)


async def run_soak(bot: RunningBot, fakes: Fakes, plan: SoakPlan) -> SoakReport:
    """Run ``plan`` against ``bot``; check every conversation against its tracker.

    Raises:
        SoakError: If a turn never ends (no answer), or a channel refuses a message.

    """
    slack_inbox = Inbox(
        lambda: [(str(c.args.get("channel")), None) for c in fakes.slack.calls("chat.postMessage")]
    )
    telegram_inbox = Inbox(
        lambda: [
            (str(c.params.get("chat_id")), c.at) for c in fakes.telegram.api.snapshot("sendMessage")
        ]
    )
    chat_ids = iter(range(6_000_001, 7_000_000))
    update_ids = iter(range(10_000, 10_000_000))
    connector = aiohttp.TCPConnector(limit=400)
    timeout = aiohttp.ClientTimeout(total=TURN_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        probe = await probe_replies(http, bot.url, sorted(set(TEXTS)))

        def conversation(channel: str) -> Conversation:
            if channel == "web":
                return WebConversation(bot.url)
            if channel == "slack":
                return SlackConversation(http, bot.url, slack_inbox)
            if channel == "telegram":
                return TelegramConversation(
                    http, bot.url, telegram_inbox, next(chat_ids), update_ids
                )
            return EmailConversation(http, bot.url, fakes.smtp)

        runs = [
            _Run(conversation(channel), texts)
            for channel, scripts in plan.scripts().items()
            for texts in scripts
        ]
        slots = {channel: asyncio.Semaphore(plan.concurrency) for channel in CHANNELS}
        pollers = [asyncio.create_task(i.poll()) for i in (slack_inbox, telegram_inbox)]
        conversations = []
        try:
            for run in runs:  # connect the web sessions before the clock starts
                await run.conversation.open()
            started = time.monotonic()
            await asyncio.gather(*(_converse(run, slots[run.conversation.channel]) for run in runs))
            wall_s = time.monotonic() - started
            await asyncio.sleep(plan.quiet_s)
            for run in runs:
                conv = run.conversation
                problems = [run.error] if run.error else []
                if conv.sender_id:  # an email thread has none until its first answer
                    events = await tracker_events(http, bot.url, conv.sender_id)
                    problems += check_conversation(conv, run.exchanges, events)
                reconnects = conv.reconnects if isinstance(conv, WebConversation) else 0
                conversations.append(
                    ConversationResult(
                        conv.channel, conv.sender_id, run.exchanges, problems, reconnects
                    )
                )
        finally:
            for task in pollers:
                task.cancel()
            await asyncio.gather(*pollers, return_exceptions=True)
            await asyncio.gather(*(r.conversation.close() for r in runs), return_exceptions=True)
    logger.info("Soak: %d conversations in %.1f s.", len(conversations), wall_s)
    return SoakReport(plan, wall_s, probe, conversations)
