"""Sample inbound mails, built as mail clients build them.

The email channel's tests and the soak send these; ``tests/channels/test_email_samples.py``
checks that the samples are what those tests rely on them to be.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP


def plain_mail(
    text: str = "Where is my order PC-482913?",
    *,
    sender: str = "Dana Fox <dana@example.org>",
    to: str = "support@pinecrest.example",
    subject: str = "My order",
    message_id: str = "<m1@example.org>",
    in_reply_to: str | None = None,
    references: str | None = None,
    extra: dict[str, str] | None = None,
) -> EmailMessage:
    """A plain-text mail as a mail client sends it, with the given headers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (extra or {}).items():
        message[name] = value
    message.set_content(text)
    return message


def html_only_mail(html: str, **kwargs: str) -> EmailMessage:
    """A mail whose only body is ``html`` (no plain-text part); headers as plain_mail's."""
    message = plain_mail("x", **kwargs)  # type: ignore[arg-type]
    message.set_content(html, subtype="html")
    return message


def with_attachment(message: EmailMessage, data: bytes = b"%PDF-1.4 fake") -> EmailMessage:
    """Add a small PDF attachment to ``message`` (now multipart/mixed) and return it."""
    message.add_attachment(data, maintype="application", subtype="pdf", filename="receipt.pdf")
    return message


def latin1_mail(text: str, charset: str = "iso-8859-1", **kwargs: str) -> bytes:
    """A single-part mail whose body is raw bytes in ``charset`` (8bit), as old clients send."""
    headers = plain_mail("x", **kwargs)  # type: ignore[arg-type]
    head = "".join(
        f"{k}: {v}\r\n"
        for k, v in headers.items()
        if k.lower() not in ("content-type", "content-transfer-encoding", "mime-version")
    )
    return (
        (
            head
            + f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n"
            + "Content-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode("ascii")
        + text.encode(charset)
        + b"\r\n"
    )


def raw(message: EmailMessage) -> bytes:
    """The mail's bytes as sent over SMTP (CRLF line ends)."""
    return message.as_bytes(policy=SMTP)
