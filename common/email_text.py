"""Email bodies reduced to what their sender wrote: decoding, quotes, signatures, HTML.

Shared by transcript ingest (strict: an undecodable body rejects the record) and the email
channel (lenient: it falls back to a replacement decode). The functions strip quoted
replies (``On ... wrote:``, ``>`` lines, Outlook's ``-----Original Message-----`` and
``From: ... Sent: ...`` blocks) and signatures (the ``-- `` delimiter, "Sent from my
iPhone" lines, and a sign-off such as "Best regards," followed by a short name block), and
turn HTML into text.
"""

from __future__ import annotations

import re
from email.message import EmailMessage, Message

import html2text

from common.errors import BotError

_ON_WROTE = re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(Original|Forwarded) Message\s*-{2,}\s*$", re.IGNORECASE)
_HEADER_FROM = re.compile(r"^\s*\*{0,2}From:\*{0,2}\s", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*{0,2}(Sent|Date|To|Subject|Cc):\*{0,2}\s", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_SENT_FROM = re.compile(
    r"^\s*(Sent from (my )?(iPhone|iPad|Android|mobile|Samsung|Galaxy|Outlook)"
    r"|Sent from Mail for Windows|Get Outlook for (iOS|Android))\b.*$",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(best|best regards|kind regards|warm regards|warmest regards|regards|many thanks|"
    r"thanks|thank you|thanks again|thanks in advance|cheers|sincerely|yours sincerely|"
    r"yours truly|all the best|take care|br)\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_NAME_BLOCK_LINES = 4
_NAME_LINE_CHARS = 60


def html_to_text(html: str) -> str:
    """Render an HTML body as plain text; quoted blocks become ``>`` lines.

    Args:
        html: The HTML.

    Returns:
        The text, without images and with link targets dropped.
    """
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_links = True
    converter.ignore_emphasis = True
    return converter.handle(html)


def strip_quoted(text: str) -> str:
    """Remove quoted replies: everything from the quote header on, and ``>`` lines.

    Args:
        text: A plain-text body.

    Returns:
        The body without quoted material.
    """
    lines = text.split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        joined = line if i + 1 >= len(lines) else f"{line} {lines[i + 1]}"
        if (
            _ORIGINAL.match(line)
            or _ON_WROTE.match(line)
            or (line.lstrip().lower().startswith("on ") and _ON_WROTE.match(joined))
            or (_UNDERSCORES.match(line) and _follows_header(lines, i + 1))
            or (_HEADER_FROM.match(line) and _follows_header(lines, i + 1))
        ):
            cut = i
            break
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    return "\n".join(kept)


def _follows_header(lines: list[str], start: int) -> bool:
    """Whether an Outlook header line (From/Sent/To/Subject) is among the next few lines."""
    window = [line for line in lines[start : start + 4] if line.strip()]
    return any(_HEADER_NEXT.match(line) or _HEADER_FROM.match(line) for line in window)


def strip_signature(text: str) -> str:
    """Remove a signature: from ``-- ``, a "Sent from" line, or a closing sign-off block.

    A sign-off ("Best regards,") is cut only when at most a short name block follows it. If
    the sign-off is all there is (a message that just says "Thanks!"), it is kept and only
    the name block goes.

    Args:
        text: A plain-text body, already without quotes.

    Returns:
        The body without its signature.
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.rstrip() == "--" or _SENT_FROM.match(line):
            lines = lines[:i]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    for i in range(len(lines) - 1, max(-1, len(lines) - _NAME_BLOCK_LINES - 2), -1):
        if not _SIGN_OFF.match(lines[i]):
            continue
        tail = [line for line in lines[i + 1 :] if line.strip()]
        if len(tail) <= _NAME_BLOCK_LINES and all(len(t) <= _NAME_LINE_CHARS for t in tail):
            before = "\n".join(lines[:i]).strip()
            return before if before else lines[i].strip()
        break
    return "\n".join(lines)


def clean_body(text: str) -> str:
    """Reduce a plain-text body to the sender's own words.

    Args:
        text: The decoded body.

    Returns:
        The text without quotes, signature or runs of blank lines; may be empty.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = strip_signature(strip_quoted(text))
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


class EmailDecodeError(BotError):
    """An email body cannot be decoded with the charset it declares.

    Args:
        detail: What went wrong; never contains the body's text.
    """

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def decode_part(part: Message) -> str:
    """Decode one MIME part's payload with its declared charset (UTF-8 when none).

    Args:
        part: A leaf part of a parsed message.

    Returns:
        The decoded text; empty if the part has no byte payload.

    Raises:
        EmailDecodeError: If the charset is unknown or the bytes are not valid in it.
    """
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset()
    try:
        if charset is None:
            return payload.decode("utf-8")
        return payload.decode(charset)
    except LookupError as e:
        raise EmailDecodeError("unknown charset") from e
    except UnicodeDecodeError as e:
        raise EmailDecodeError(f"body is not valid {charset or 'utf-8'}") from e


def body_text(message: EmailMessage) -> str:
    """The message's own words: the text body (or the HTML body as text), cleaned.

    Attachments are ignored.

    Args:
        message: A message parsed with ``policy=default``.

    Returns:
        The cleaned body; empty if there is none.

    Raises:
        EmailDecodeError: If the body cannot be decoded.
    """
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = decode_part(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return clean_body(text)
