"""Loop protection: recognise mail that no one should answer.

Auto-replies (out-of-office, ticket confirmations), bounces, mailing-list and bulk mail,
and mail from our own addresses are never answered, so two robots can never write to
each other forever. The rules follow RFC 3834 and the headers that common mail systems set
instead of it.
"""

from __future__ import annotations

from collections.abc import Collection
from email.message import Message
from email.utils import getaddresses

from channels.email_mime import header

__all__ = ["automated_reason"]

_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")
_LIST_HEADERS = ("List-Id", "List-Unsubscribe")
_ROBOT_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})


def _addresses(message: Message, *names: str) -> list[str]:
    values = [header(message, name) for name in names]
    return [address.strip().lower() for _, address in getaddresses(values) if address]


def automated_reason(message: Message, own_addresses: Collection[str] = ()) -> str | None:
    """Tell why a message must not be answered, if it must not.

    Args:
        message: The parsed inbound message.
        own_addresses: Our own addresses (From, Reply-To, the mailbox's); mail from
            them is never answered.

    Returns:
        A short reason (``auto-submitted``, ``auto-reply-header``, ``precedence``,
        ``delivery-report``, ``bounce``, ``mailing-list``, ``own-address``), or None
        when a person wrote the message.

    """
    auto_submitted = header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto-submitted"
    for name in _AUTOREPLY_HEADERS:
        if name in message:
            return "auto-reply-header"
    if header(message, "Precedence").lower() in _BULK_PRECEDENCE:
        return "precedence"
    if message.get_content_type() == "multipart/report" or any(
        part.get_content_type() == "message/delivery-status" for part in message.walk()
    ):
        return "delivery-report"
    if header(message, "Return-Path") == "<>":
        return "bounce"
    senders = _addresses(message, "From", "Sender", "Return-Path")
    if any(address.partition("@")[0] in _ROBOT_LOCAL_PARTS for address in senders):
        return "bounce"
    if any(name in message for name in _LIST_HEADERS):
        return "mailing-list"
    own = {address.strip().lower() for address in own_addresses if address}
    if own and any(address in own for address in _addresses(message, "From")):
        return "own-address"
    return None
