"""Outbound mail for the email channel: threaded replies, one per turn.

Pure functions: the subject (``Re:`` once), the threading headers, the identity headers and
the ``multipart/alternative`` body, plus :func:`merge_replies`, which joins the adapted
replies of one turn into one mail without repeating the greeting and sign-off.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from bot.nlg.adapter import AdaptedReply
from bot.nlg.render import html_document

__all__ = [
    "MAX_REFERENCES",
    "MailIdentity",
    "ThreadState",
    "build_reply",
    "merge_replies",
    "reply_subject",
]

MAX_REFERENCES = 20
"""Most Message-IDs kept in References (the root and the newest ones)."""

_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|fwd?)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_HTML_BODY = re.compile(r"<body>\n(.*)\n</body>", re.DOTALL)
_HTML_BLOCK = re.compile(r"<p>.*?</p>|<ul>.*?</ul>", re.DOTALL)
_DEFAULT_SUBJECT = "Your message"


@dataclass(frozen=True)
class MailIdentity:
    """Who the support mails come from.

    Attributes:
        from_address: The support address (``From``).
        reply_to: Where customers' answers go (``Reply-To``); a monitored address.
        display_name: The name shown with ``From``.

    """

    from_address: str
    reply_to: str
    display_name: str = ""

    @property
    def domain(self) -> str:
        """The domain of the support address, used in new Message-IDs."""
        return self.from_address.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class ThreadState:
    """What a conversation needs to thread the next mail.

    Attributes:
        sender_id: The Rasa sender id.
        customer: The customer's address (personal data: never log it).
        subject: The thread's subject as the customer wrote it.
        last_message_id: The newest Message-ID in the thread (theirs or ours).
        references: The thread's Message-IDs, oldest first, ending with
            ``last_message_id``.

    """

    sender_id: str
    customer: str
    subject: str
    last_message_id: str | None
    references: tuple[str, ...] = field(default_factory=tuple)

    def after(self, message_id: str) -> ThreadState:
        """Return the state once ``message_id`` joined the thread."""
        return ThreadState(
            self.sender_id,
            self.customer,
            self.subject,
            message_id,
            _capped((*self.references, message_id)),
        )


def _capped(ids: Sequence[str]) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(ids))
    if len(unique) <= MAX_REFERENCES:
        return unique
    return (unique[0], *unique[-(MAX_REFERENCES - 1) :])


def thread_references(
    references: Sequence[str], in_reply_to: str | None, message_id: str | None
) -> tuple[str, ...]:
    """Return the References of a reply to a message (RFC 5322 section 3.6.4).

    Args:
        references: The message's References.
        in_reply_to: Its In-Reply-To, used when it has no References.
        message_id: Its own Message-ID, appended.

    Returns:
        The ids, oldest first, without repeats, at most :data:`MAX_REFERENCES`.

    """
    parents = list(references) or ([in_reply_to] if in_reply_to else [])
    return _capped([*parents, *([message_id] if message_id else [])])


def reply_subject(subject: str) -> str:
    """Return the subject of a reply: one ``Re:``, however many prefixes came in.

    Args:
        subject: The original subject.

    Returns:
        ``Re: <subject>`` without repeated ``Re:``/``AW:``/``Fwd:`` prefixes.

    """
    core = _REPLY_PREFIX.sub("", " ".join(subject.split())).strip()
    return f"Re: {core or _DEFAULT_SUBJECT}"


def _html_blocks(html: str) -> list[str]:
    match = _HTML_BODY.search(html)
    inner = match.group(1) if match else html
    return _HTML_BLOCK.findall(inner) or [inner.strip()]


def _text_blocks(text: str) -> list[str]:
    return [block for block in text.strip().split("\n\n") if block.strip()]


def _dedupe_frame(parts: list[list[str]]) -> list[list[str]]:
    """Keep one greeting and one sign-off when every part has the same first and last block."""
    if len(parts) < 2 or any(len(p) < 3 for p in parts):
        return parts
    first, last = parts[0][0], parts[0][-1]
    if any(p[0] != first or p[-1] != last for p in parts):
        return parts
    return [
        part[(1 if i > 0 else 0) : (len(part) - 1 if i < len(parts) - 1 else len(part))]
        for i, part in enumerate(parts)
    ]


def merge_replies(replies: Sequence[AdaptedReply]) -> tuple[str, str]:
    """Join the email replies of one turn into one body.

    Each adapted email reply carries the style's greeting and sign-off; when a turn
    has several, the mail keeps the first greeting and the last sign-off.

    Args:
        replies: The turn's replies adapted for ``email``, in order; blank ones are
            skipped.

    Returns:
        ``(text, html)``: the ``text/plain`` and ``text/html`` parts; both empty when
        there is nothing to send.

    """
    replies = [r for r in replies if r.text.strip()]
    if not replies:
        return "", ""
    if len(replies) == 1 and replies[0].html:
        return replies[0].text, replies[0].html
    texts = _dedupe_frame([_text_blocks(r.text) for r in replies])
    htmls = _dedupe_frame(
        [_html_blocks(r.html) if r.html else [f"<p>{html_lib.escape(r.text)}</p>"] for r in replies]
    )
    text = "\n\n".join(block for part in texts for block in part)
    html = html_document("\n".join(block for part in htmls for block in part))
    return text, html


def _address(address: str, display_name: str = "") -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=display_name, username=local, domain=domain)


def build_reply(
    identity: MailIdentity,
    thread: ThreadState,
    text: str,
    html: str,
    *,
    auto_submitted: bool = True,
) -> EmailMessage:
    """Build the reply to a thread as ``multipart/alternative`` (text and HTML).

    Args:
        identity: Our From, Reply-To and display name.
        thread: The thread: customer, subject, last Message-ID and References.
        text: The ``text/plain`` part.
        html: The ``text/html`` part (a complete document).
        auto_submitted: Mark the mail ``Auto-Submitted: auto-replied`` (bot replies;
            agents' replies are written by people).

    Returns:
        The message with a new Message-ID; ``In-Reply-To`` names the thread's last
        message and ``References`` the thread.

    """
    message = EmailMessage()
    message["From"] = _address(identity.from_address, identity.display_name)
    message["To"] = _address(thread.customer)
    message["Reply-To"] = _address(identity.reply_to, identity.display_name)
    message["Subject"] = reply_subject(thread.subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=identity.domain)
    if thread.last_message_id:
        message["In-Reply-To"] = thread.last_message_id
    if thread.references:
        message["References"] = " ".join(thread.references)
    if auto_submitted:
        message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message
