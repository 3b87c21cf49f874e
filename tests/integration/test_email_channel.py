"""The email channel end to end: Dovecot IMAP in, the real Rasa server, SMTP out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from channels.email_imap import ImapPoller, ImapSettings
from loopback.mail_samples import (
    html_only_mail,
    latin1_mail,
    plain_mail,
    raw,
    with_attachment,
)
from loopback.mail_servers import (
    DOVECOT,
    ImapServer,
    SmtpServer,
    dovecot_imap,
    smtp_collector,
)
from loopback.rasa_server import RunningBot, running_bot

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not DOVECOT.exists(), reason="dovecot is not installed"),
]

SECRET = "hook-secret"
SUPPORT = "support@pinecrest.example"
REPLY_TO = "help@pinecrest.example"


def _id() -> str:
    return f"<{uuid.uuid4().hex}@example.org>"


@pytest.fixture(scope="module")
def imap() -> Iterator[ImapServer]:
    with dovecot_imap() as server:
        yield server


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with smtp_collector() as server:
        yield server


def _credentials(imap: ImapServer, smtp: SmtpServer, tmp: Path) -> str:
    return f"""
rest:
channels.email.EmailInput:
  from_address: {SUPPORT}
  reply_to: {REPLY_TO}
  display_name: Pinecrest Support
  webhook_secret: {SECRET}
  max_message_bytes: 200000
  thread_store: {tmp}/email_threads.sqlite3
  rate_limit:
    rate: 1.0
    burst: 50
  imap:
    host: {imap.host}
    port: {imap.port}
    user: {imap.user}
    password: {imap.password}
    ssl: false
    poll_interval: 0.5
  smtp:
    host: {smtp.host}
    port: {smtp.port}
    starttls: false
"""


@pytest.fixture(scope="module")
def bot(
    sample_bot_model: Path, imap: ImapServer, smtp: SmtpServer, tmp_path_factory
) -> Iterator[RunningBot]:
    tmp = tmp_path_factory.mktemp("email-bot")
    with running_bot(sample_bot_model, tmp, credentials=_credentials(imap, smtp, tmp)) as running:
        yield running


def _reply_to(smtp: SmtpServer, message_id: str, timeout: float = 120.0) -> EmailMessage:
    return smtp.handler.wait_for(lambda m: m.get("In-Reply-To") == message_id, timeout)


def _parts(reply: EmailMessage) -> tuple[str, str]:
    plain, html = reply.get_body(("plain",)), reply.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


async def test_poller_flags_seen_only_after_the_handler_succeeds(imap: ImapServer):
    message_id = _id()
    imap.deliver(raw(plain_mail("poller check", message_id=message_id)))
    seen: list[bytes] = []

    async def failing(data: bytes) -> None:
        raise RuntimeError("crash before the reply was sent")

    async def succeeding(data: bytes) -> None:
        seen.append(data)

    settings = ImapSettings(
        host=imap.host, port=imap.port, user=imap.user, password=imap.password, ssl=False
    )
    assert await ImapPoller(settings, failing, 100_000).poll_once() == 0
    assert "\\Seen" not in imap.flags(message_id)
    assert await ImapPoller(settings, succeeding, 100_000).poll_once() >= 1
    assert "\\Seen" in imap.flags(message_id)
    assert any(message_id.encode() in data for data in seen)


async def test_poller_skips_oversized_mail(imap: ImapServer):
    message_id = _id()
    imap.deliver(raw(plain_mail("x" * 5000, message_id=message_id)))
    handled: list[bytes] = []

    async def handler(data: bytes) -> None:
        handled.append(data)

    settings = ImapSettings(
        host=imap.host, port=imap.port, user=imap.user, password=imap.password, ssl=False
    )
    await ImapPoller(settings, handler, 1000).poll_once()
    assert "\\Seen" in imap.flags(message_id)
    assert not any(message_id.encode() in data for data in handled)


@pytest.mark.slow
def test_imap_mail_gets_one_threaded_multipart_reply(
    bot: RunningBot, imap: ImapServer, smtp: SmtpServer
):
    message_id = _id()
    mail = plain_mail(
        "Hello, where is my order PC-482913?",
        subject="RE: Re: Order question",
        message_id=message_id,
    )
    imap.deliver(raw(mail))
    reply = _reply_to(smtp, message_id)
    assert reply["Subject"] == "Re: Order question"
    assert reply["References"].split() == [message_id]
    assert reply["To"] == "dana@example.org"
    assert reply["From"].addresses[0].addr_spec == SUPPORT
    assert reply["From"].addresses[0].display_name == "Pinecrest Support"
    assert reply["Reply-To"].addresses[0].addr_spec == REPLY_TO
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["Message-ID"] and reply["Message-ID"] != message_id
    assert reply.get_content_type() == "multipart/alternative"
    text, html = _parts(reply)
    assert "PC-482913" in text and "PC-482913" in html
    assert text.startswith("Hello,") and text.count("Kind regards,") == 1
    imap.wait_seen(message_id)
    assert len(smtp.handler.matching(lambda m: m.get("In-Reply-To") == message_id)) == 1

    # the customer answers our reply: same thread, References grow
    follow_up = _id()
    imap.deliver(
        raw(
            plain_mail(
                "It's PC-730011 actually.\n\nOn Mon, Pinecrest wrote:\n> Hello",
                subject="Re: Order question",
                message_id=follow_up,
                in_reply_to=reply["Message-ID"],
                references=f"{message_id} {reply['Message-ID']}",
            )
        )
    )
    second = _reply_to(smtp, follow_up)
    assert second["References"].split() == [message_id, reply["Message-ID"], follow_up]
    assert second["Subject"] == "Re: Order question"


@pytest.mark.slow
def test_html_only_mail_is_answered(bot: RunningBot, imap: ImapServer, smtp: SmtpServer):
    message_id = _id()
    html = "<html><body><p>Where is my order <b>PC-730011</b>?</p></body></html>"
    imap.deliver(raw(html_only_mail(html, message_id=message_id, subject="Order")))
    text, _ = _parts(_reply_to(smtp, message_id))
    assert "PC-730011" in text


@pytest.mark.slow
def test_mail_with_attachment_is_answered(bot: RunningBot, imap: ImapServer, smtp: SmtpServer):
    message_id = _id()
    mail = with_attachment(plain_mail("where is my order PC-482913?", message_id=message_id))
    imap.deliver(raw(mail))
    text, _ = _parts(_reply_to(smtp, message_id))
    assert "PC-482913" in text


@pytest.mark.slow
def test_non_utf8_mail_is_answered(bot: RunningBot, imap: ImapServer, smtp: SmtpServer):
    message_id = _id()
    imap.deliver(
        latin1_mail("Grüße! Where is my order PC-482913?", "iso-8859-1", message_id=message_id)
    )
    text, _ = _parts(_reply_to(smtp, message_id))
    assert "PC-482913" in text


@pytest.mark.slow
def test_auto_reply_is_marked_seen_and_never_answered(
    bot: RunningBot, imap: ImapServer, smtp: SmtpServer
):
    auto_id, bounce_id, sentinel_id = _id(), _id(), _id()
    imap.deliver(
        raw(
            plain_mail(
                "I am out of the office until Monday.",
                subject="Automatic reply: Re: Order",
                message_id=auto_id,
                extra={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
            )
        )
    )
    imap.deliver(
        raw(
            plain_mail(
                "Delivery failed", sender="MAILER-DAEMON@mx.example.org", message_id=bounce_id
            )
        )
    )
    imap.deliver(raw(plain_mail("hi there", message_id=sentinel_id)))
    _reply_to(smtp, sentinel_id)  # mail after the robots' was answered: they were processed
    imap.wait_seen(auto_id)
    imap.wait_seen(bounce_id)
    assert not smtp.handler.matching(lambda m: m.get("In-Reply-To") in (auto_id, bounce_id))


@pytest.mark.slow
def test_webhook_takes_raw_mail_with_the_secret(bot: RunningBot, smtp: SmtpServer):
    url = f"{bot.url}/webhooks/email/inbound"
    message_id = _id()
    body = raw(plain_mail("where is my order PC-482913?", message_id=message_id, subject="Hook"))
    refused = requests.post(url, data=body, headers={"Content-Type": "message/rfc822"}, timeout=30)
    assert refused.status_code == 401
    wrong = requests.post(
        url,
        data=body,
        headers={"Content-Type": "message/rfc822", "X-Webhook-Secret": "guess"},
        timeout=30,
    )
    assert wrong.status_code == 401
    assert not smtp.handler.matching(lambda m: m.get("In-Reply-To") == message_id)

    headers = {"Content-Type": "message/rfc822", "X-Webhook-Secret": SECRET}
    answered = requests.post(url, data=body, headers=headers, timeout=120)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered"
    reply = _reply_to(smtp, message_id, timeout=5)
    assert reply["Subject"] == "Re: Hook"
    assert "PC-482913" in _parts(reply)[0]

    auto = raw(plain_mail("away", message_id=_id(), extra={"Precedence": "bulk"}))
    ignored = requests.post(url, data=auto, headers=headers, timeout=30)
    assert ignored.status_code == 200 and ignored.json()["reason"] == "precedence"

    big = raw(plain_mail("x" * 250_000, message_id=_id()))
    assert requests.post(url, data=big, headers=headers, timeout=30).status_code == 413
    assert (
        requests.post(
            url, data=body, headers={**headers, "Content-Type": "text/plain"}, timeout=30
        ).status_code
        == 415
    )
