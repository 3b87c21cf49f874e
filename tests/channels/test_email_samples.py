"""Sample inbound mails for the email channel's tests, built as mail clients build them.

The builders are imported by the other email tests; the tests here check the samples.
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
    message = plain_mail("x", **kwargs)  # type: ignore[arg-type]
    message.set_content(html, subtype="html")
    return message


def with_attachment(message: EmailMessage, data: bytes = b"%PDF-1.4 fake") -> EmailMessage:
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
    return message.as_bytes(policy=SMTP)


# The samples are what the tests rely on them to be.


def test_latin1_sample_is_not_utf8():
    data = latin1_mail("Grüße", "iso-8859-1")
    assert b"charset=iso-8859-1" in data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        raise AssertionError("the sample body should not be valid UTF-8")


def test_html_only_sample_has_no_plain_part():
    message = html_only_mail("<p>hi</p>")
    assert message.get_content_type() == "text/html"
    assert message.get_body(("plain",)) is None


def test_attachment_sample_is_multipart_mixed():
    message = with_attachment(plain_mail())
    assert message.get_content_type() == "multipart/mixed"
    assert [p.get_filename() for p in message.iter_attachments()] == ["receipt.pdf"]
