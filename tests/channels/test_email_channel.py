from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage

from channels.base import PayloadTooLargeError, RateLimitedError, SenderRateLimiter
from channels.email import (
    EmailOutboundSender,
    EmailResponder,
    EmailSettings,
    UnknownThreadError,
)
from channels.email_imap import fetched_literal, fetched_size
from channels.email_smtp import EmailDeliveryError
from channels.email_store import SQLiteEmailThreadStore
from common.errors import ConfigError
from loopback.mail_samples import plain_mail, raw, with_attachment

CREDENTIALS: dict[str, Any] = {
    "from_address": "support@pinecrest.example",
    "reply_to": "help@pinecrest.example",
    "display_name": "Pinecrest Support",
    "webhook_secret": "s3cret",
    "max_message_bytes": 50_000,
    "smtp": {"host": "127.0.0.1", "port": 2525, "starttls": False},
}


class FakeMailer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[EmailMessage] = []
        self.fail = fail

    async def send(self, message: EmailMessage) -> None:
        if self.fail:
            raise EmailDeliveryError("down")
        self.sent.append(message)


class FakeBot:
    """Answers each message with fixed bot messages, as Rasa's agent would."""

    def __init__(self, *texts: str) -> None:
        self.texts = texts
        self.received: list[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        for text in self.texts:
            await message.output_channel.send_response(message.sender_id, {"text": text})


@pytest.fixture
def settings(tmp_path: Path) -> EmailSettings:
    return EmailSettings.from_credentials({**CREDENTIALS, "thread_store": str(tmp_path / "t.db")})


def _responder(settings: EmailSettings, mailer: FakeMailer, burst: int = 10) -> EmailResponder:
    store = SQLiteEmailThreadStore(settings.thread_store)
    return EmailResponder(settings, mailer, store, SenderRateLimiter(rate=0.001, burst=burst))


def test_settings_from_credentials(settings: EmailSettings):
    assert settings.identity.from_address == "support@pinecrest.example"
    assert settings.smtp.port == 2525 and settings.smtp.starttls is False
    assert settings.imap is None
    assert "help@pinecrest.example" in settings.own_addresses


@pytest.mark.parametrize(
    "change",
    [{"from_address": ""}, {"reply_to": "no-reply@pinecrest.example"}, {"smtp": {}}],
)
def test_bad_settings_are_config_errors(change: dict[str, Any]):
    with pytest.raises(ConfigError):
        EmailSettings.from_credentials({**CREDENTIALS, **change})


def test_imap_settings_need_credentials():
    with pytest.raises(ConfigError):
        EmailSettings.from_credentials({**CREDENTIALS, "imap": {"host": "x"}})
    full = EmailSettings.from_credentials(
        {
            **CREDENTIALS,
            "imap": {"host": "x", "user": "bot@pinecrest.example", "password": "p", "ssl": False},
        }
    )
    assert full.imap is not None and full.imap.port == 143
    assert "bot@pinecrest.example" in full.own_addresses


async def test_one_turn_is_one_threaded_mail(settings: EmailSettings):
    mailer, bot = FakeMailer(), FakeBot("Your order shipped.", "Anything else?")
    outcome = await _responder(settings, mailer).handle(raw(with_attachment(plain_mail())), bot)
    assert outcome.status == "answered"
    assert len(mailer.sent) == 1
    mail = mailer.sent[0]
    assert mail["Subject"] == "Re: My order"
    assert mail["In-Reply-To"] == "<m1@example.org>"
    assert mail["References"] == "<m1@example.org>"
    body = mail.get_body(("plain",))
    assert body is not None
    assert "Your order shipped." in body.get_content() and "Anything else?" in body.get_content()
    message = bot.received[0]
    assert message.text == "Where is my order PC-482913?"
    assert message.sender_id == outcome.sender_id and message.sender_id.startswith("email:")
    assert "dana" not in message.sender_id
    assert message.metadata["channel"] == "email"
    assert message.metadata["attachments"] == 1
    assert message.input_channel == "email"


async def test_agent_reply_threads_after_the_bot_reply(settings: EmailSettings):
    mailer = FakeMailer()
    responder = _responder(settings, mailer)
    outcome = await responder.handle(raw(plain_mail()), FakeBot("Shipped."))
    bot_mail = mailer.sent[0]
    # a fresh store object on the same file: threading survives a restart
    outbound = EmailOutboundSender(settings, mailer, SQLiteEmailThreadStore(settings.thread_store))
    assert outcome.sender_id is not None
    await outbound.send_text(outcome.sender_id.removeprefix("email:"), "I'm **Sam**, I'll check.")
    agent_mail = mailer.sent[1]
    assert agent_mail["To"] == "dana@example.org"
    assert agent_mail["In-Reply-To"] == bot_mail["Message-ID"]
    assert agent_mail["References"].split() == ["<m1@example.org>", bot_mail["Message-ID"]]
    assert agent_mail["Subject"] == "Re: My order"
    assert "Auto-Submitted" not in agent_mail
    html = agent_mail.get_body(("html",))
    assert html is not None and "<strong>Sam</strong>" in html.get_content()


async def test_agent_reply_to_unknown_conversation(settings: EmailSettings):
    outbound = EmailOutboundSender(
        settings, FakeMailer(), SQLiteEmailThreadStore(settings.thread_store)
    )
    with pytest.raises(UnknownThreadError):
        await outbound.send_text("nohash:noroot", "hello")


async def test_auto_reply_is_ignored(settings: EmailSettings):
    mailer, bot = FakeMailer(), FakeBot("Hi")
    mail = plain_mail("I am out of office", extra={"Auto-Submitted": "auto-replied"})
    outcome = await _responder(settings, mailer).handle(raw(mail), bot)
    assert (outcome.status, outcome.reason) == ("ignored", "auto-submitted")
    assert not mailer.sent and not bot.received


async def test_own_address_is_ignored(settings: EmailSettings):
    mailer, bot = FakeMailer(), FakeBot("Hi")
    outcome = await _responder(settings, mailer).handle(
        raw(plain_mail(sender="support@pinecrest.example")), bot
    )
    assert outcome.reason == "own-address" and not mailer.sent


async def test_oversized_mail_is_refused(settings: EmailSettings):
    with pytest.raises(PayloadTooLargeError):
        await _responder(settings, FakeMailer()).handle(raw(plain_mail("x" * 60_000)), FakeBot())


async def test_rate_limit_per_sender(settings: EmailSettings):
    mailer, bot = FakeMailer(), FakeBot("ok")
    responder = _responder(settings, mailer, burst=2)
    for i in range(2):
        await responder.handle(raw(plain_mail(message_id=f"<r{i}@example.org>")), bot)
    with pytest.raises(RateLimitedError):
        await responder.handle(raw(plain_mail(message_id="<r9@example.org>")), bot)
    other = plain_mail(sender="lee@example.net", message_id="<l1@example.net>")
    assert (await responder.handle(raw(other), bot)).status == "answered"


async def test_empty_mail_is_ignored(settings: EmailSettings):
    mailer, bot = FakeMailer(), FakeBot("ok")
    outcome = await _responder(settings, mailer).handle(raw(plain_mail("> only a quote")), bot)
    assert outcome.reason == "empty" and not bot.received


async def test_failed_send_raises_so_imap_keeps_it_unseen(settings: EmailSettings):
    responder = _responder(settings, FakeMailer(fail=True))
    with pytest.raises(EmailDeliveryError):
        await responder.handle_polled(raw(plain_mail()), FakeBot("ok"))
    # client errors are not retried
    await responder.handle_polled(b"   ", FakeBot("ok"))


def test_fetch_response_parsing():
    lines = [
        b"1 FETCH (UID 7 RFC822.SIZE 12 BODY[] {12}",
        bytearray(b"Subject: x\r\n"),
        b")",
        b"Fetch completed",
    ]
    assert fetched_literal(lines) == b"Subject: x\r\n"
    assert fetched_size(lines) == 12
    assert fetched_literal([b"Fetch completed"]) is None
