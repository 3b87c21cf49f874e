"""Inbound mail for the email channel: parse, reduce to the customer's words, thread.

Pure functions. Bodies are parsed with the standard library ``email`` package
(``policy=default``); the text is the plain part, or the HTML part rendered as text, cleaned
of quotes and signatures by :mod:`common.email_text` (the same rules the
transcript ingest uses). Attachments are never read, only counted.

A conversation is one thread of one sender: its id is ``email:<address hash>:<thread
root>``, where the root is the first Message-ID in References, else In-Reply-To, else the
message's own Message-ID.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.policy import default
from email.utils import getaddresses

from channels.base import namespaced_sender_id
from common.email_text import EmailDecodeError, clean_body, html_to_text
from common.email_text import body_text as strict_body_text
from common.errors import BadRequestError

__all__ = [
    "CHANNEL",
    "BadEmailError",
    "InboundEmail",
    "address_hash",
    "count_attachments",
    "header",
    "message_ids",
    "parse_inbound",
    "parse_message",
    "sender_address",
    "sender_id_for",
    "thread_root",
]

CHANNEL = "email"

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9.@_+=$%&!#-]")
_MAX_ROOT_CHARS = 200


class BadEmailError(BadRequestError):
    """A message cannot be read as email (no sender, broken MIME)."""


@dataclass(frozen=True)
class InboundEmail:
    """What the channel keeps of one inbound message.

    Attributes:
        sender: The sender's address (personal data: never log it).
        sender_name: The display name in From, possibly empty.
        subject: The Subject, possibly empty.
        message_id: The Message-ID with angle brackets, or None.
        in_reply_to: The first Message-ID in In-Reply-To, or None.
        references: The Message-IDs in References, oldest first.
        text: The sender's own words, without quotes, signature or markup.
        html_only: Whether the text came from an HTML part (no plain part).
        attachments: How many attachments the message carries (not read).
        size: The raw message's size in bytes.

    """

    sender: str
    sender_name: str
    subject: str
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str
    html_only: bool
    attachments: int
    size: int

    @property
    def thread_root(self) -> str:
        """The Message-ID that starts this message's thread (see :func:`thread_root`)."""
        return thread_root(self.message_id, self.in_reply_to, self.references)

    @property
    def sender_id(self) -> str:
        """The Rasa sender id of this message's conversation."""
        return sender_id_for(self.sender, self.thread_root)


def parse_message(raw: bytes) -> EmailMessage:
    """Parse RFC 822 bytes with ``policy=default``.

    Args:
        raw: The message.

    Returns:
        The parsed message.

    Raises:
        BadEmailError: If the bytes are not a MIME message.

    """
    if not raw or not raw.strip():
        raise BadEmailError("empty message")
    try:
        message = email.message_from_bytes(raw, policy=default)
    except Exception as e:  # the parser is lenient; anything it raises is a broken message
        raise BadEmailError(f"unparseable message ({type(e).__name__})") from e
    if not isinstance(message, EmailMessage) or not message.keys():
        raise BadEmailError("not a MIME message")
    return message


def header(message: Message, name: str) -> str:
    """Return a header as text, or ``""`` when it is missing or malformed.

    Args:
        message: The message.
        name: The header's name.

    Returns:
        The (decoded) header value.

    """
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):
        return ""
    return str(value).strip() if value is not None else ""


def message_ids(value: str) -> tuple[str, ...]:
    """Return the ``<...>`` Message-IDs in a header value, in order.

    Args:
        value: A Message-ID, In-Reply-To or References value.

    Returns:
        The ids with their angle brackets.

    """
    return tuple(_MESSAGE_ID.findall(value or ""))


def thread_root(
    message_id: str | None, in_reply_to: str | None, references: tuple[str, ...]
) -> str:
    """Return the Message-ID that started a thread.

    Args:
        message_id: The message's own id.
        in_reply_to: The id it answers.
        references: The thread's ids, oldest first.

    Returns:
        The first of References, else In-Reply-To, else the own id; ``<unknown>``
        when the message has none of them.

    """
    return (references[0] if references else None) or in_reply_to or message_id or "<unknown>"


def address_hash(address: str) -> str:
    """Return a short, stable pseudonym of an address, for sender ids and logs.

    Args:
        address: An email address; case and surrounding spaces are ignored.

    Returns:
        16 hex characters of its SHA-256.

    """
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()[:16]


def sender_id_for(address: str, root: str) -> str:
    """Return the Rasa sender id of one sender's thread.

    Args:
        address: The customer's address.
        root: The thread's root Message-ID.

    Returns:
        ``email:<address hash>:<root>``; the root loses its angle brackets and any
        character that would not survive a URL path.

    """
    safe_root = _UNSAFE_ID_CHARS.sub("_", root.strip().strip("<>"))[:_MAX_ROOT_CHARS]
    return namespaced_sender_id(CHANNEL, f"{address_hash(address)}:{safe_root or 'unknown'}")


def sender_address(message: Message) -> tuple[str, str]:
    """Return the sender's display name and address from From.

    Args:
        message: The message.

    Returns:
        ``(name, address)``; the address is lower-cased.

    Raises:
        BadEmailError: If From holds no address.

    """
    for name, address in getaddresses([header(message, "From")]):
        if address and "@" in address:
            return name, address.strip().lower()
    raise BadEmailError("no sender address in From")


def count_attachments(message: EmailMessage) -> int:
    """Count the parts that are attachments (a filename or ``attachment`` disposition).

    Args:
        message: The message.

    Returns:
        How many there are; their content is never decoded.

    """
    count = 0
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment" or part.get_filename():
            count += 1
    return count


def _lenient_text(message: EmailMessage) -> tuple[str, bool]:
    """Body text decoded with replacement characters, for bodies strict decoding refuses."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", False
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return "", False
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:
        text = payload.decode("utf-8", errors="replace")
    is_html = part.get_content_subtype() == "html"
    return clean_body(html_to_text(text) if is_html else text), is_html


def body_text(message: EmailMessage) -> tuple[str, bool]:
    """Return the sender's own words and whether they came from HTML.

    The plain part wins over the HTML part; HTML is rendered as text. Quotes and
    signatures are stripped. A body in an unknown or wrong charset is decoded with
    replacement characters rather than refused.

    Args:
        message: The parsed message.

    Returns:
        ``(text, html_only)``; the text may be empty.

    """
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", False
    is_html = part.get_content_subtype() == "html"
    try:
        return strict_body_text(message), is_html
    except EmailDecodeError:
        return _lenient_text(message)
    except (KeyError, ValueError, AssertionError) as e:
        raise BadEmailError(f"unreadable body ({type(e).__name__})") from e


def parse_inbound(raw: bytes, message: EmailMessage | None = None) -> InboundEmail:
    """Read one inbound message.

    Args:
        raw: The RFC 822 bytes.
        message: The already parsed message, if the caller has it.

    Returns:
        The inbound email.

    Raises:
        BadEmailError: If it is not a message or has no sender.

    """
    message = message if message is not None else parse_message(raw)
    name, address = sender_address(message)
    text, html_only = body_text(message)
    own = message_ids(header(message, "Message-ID"))
    replied = message_ids(header(message, "In-Reply-To"))
    return InboundEmail(
        sender=address,
        sender_name=name,
        subject=header(message, "Subject"),
        message_id=own[0] if own else None,
        in_reply_to=replied[0] if replied else None,
        references=message_ids(header(message, "References")),
        text=text,
        html_only=html_only,
        attachments=count_attachments(message),
        size=len(raw),
    )
