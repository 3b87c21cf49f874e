from __future__ import annotations

from email.message import EmailMessage

import pytest

from channels.email_loops import automated_reason
from channels.email_mime import parse_message
from loopback.mail_samples import plain_mail, raw

OWN = {"support@pinecrest.example", "help@pinecrest.example"}


def _reason(message: EmailMessage) -> str | None:
    return automated_reason(parse_message(raw(message)), OWN)


def test_a_person_writing_is_answered():
    assert _reason(plain_mail()) is None
    assert _reason(plain_mail(extra={"Auto-Submitted": "no"})) is None
    assert _reason(plain_mail(extra={"Precedence": "first-class"})) is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto-submitted"),
        ({"Auto-Submitted": "auto-generated; owner-email=x@y.z"}, "auto-submitted"),
        ({"X-Autoreply": "yes"}, "auto-reply-header"),
        ({"X-Autorespond": "Out of office"}, "auto-reply-header"),
        ({"X-Auto-Response-Suppress": "All"}, "auto-reply-header"),
        ({"Precedence": "bulk"}, "precedence"),
        ({"Precedence": "junk"}, "precedence"),
        ({"Precedence": "list"}, "precedence"),
        ({"Precedence": "auto_reply"}, "precedence"),
        ({"List-Id": "<news.example.org>"}, "mailing-list"),
        ({"List-Unsubscribe": "<mailto:unsub@example.org>"}, "mailing-list"),
        ({"Return-Path": "<>"}, "bounce"),
    ],
)
def test_automated_headers_are_recognised(headers: dict[str, str], reason: str):
    assert _reason(plain_mail(extra=headers)) == reason


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example.org", "Mail Delivery System <postmaster@example.org>"]
)
def test_bounce_senders_are_recognised(sender: str):
    assert _reason(plain_mail(sender=sender)) == "bounce"


DSN = (
    b"From: Mail System <system@mx.example.org>\r\n"
    b"To: support@pinecrest.example\r\n"
    b"Subject: Undelivered Mail\r\n"
    b"Message-ID: <bounce@mx.example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
    b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; x@y.z\r\n"
    b"Action: failed\r\n"
    b"--b1--\r\n"
)


def test_delivery_status_report_is_recognised():
    assert automated_reason(parse_message(DSN), OWN) == "delivery-report"
    alone = DSN.replace(b"multipart/report; report-type=delivery-status", b"multipart/mixed")
    assert automated_reason(parse_message(alone), OWN) == "delivery-report"


def test_mail_from_our_own_addresses_is_never_answered():
    assert _reason(plain_mail(sender="Pinecrest <Support@Pinecrest.example>")) == "own-address"
    assert _reason(plain_mail(sender="help@pinecrest.example")) == "own-address"
