"""The conversation model: who spoke (:class:`Role`) and one message (:class:`Turn`).

Every part of the project that holds a conversation uses these: ingested transcripts
(customer and agent), generation pairs and their context (customer and agent), and the
handoff ticket's transcript of the bot conversation (customer and bot).

Timestamps are :class:`~datetime.datetime` values, timezone-aware wherever the source says
when a message was sent. Transcripts arrive with ISO 8601 times and email ``Date`` headers
that carry the writer's UTC offset; a datetime keeps it, cannot be mistaken for seconds or
milliseconds, and compares by instant. Unix seconds appear only at the edges and are
converted there: Rasa events carry them (read with :func:`from_unix`), and the handoff
stores persist them as JSON numbers (:meth:`Turn.to_dict` and :meth:`Turn.from_dict`).
A datetime holds microseconds, so a Unix time read from an event keeps six decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from types import MappingProxyType
from typing import Any

from common.errors import BotError


class Role(str, Enum):
    """Who wrote a turn."""

    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"

    def __str__(self) -> str:
        return self.value


HUMAN_ROLES: frozenset[Role] = frozenset({Role.CUSTOMER, Role.AGENT})
"""The two people of a support conversation: what transcripts and generation pairs hold."""

ROLE_ALIASES: Mapping[str, Role] = MappingProxyType({"user": Role.CUSTOMER})
"""Role words written by earlier versions: the handoff transcript called the customer
``user`` (Rasa's event name). Accepted when reading persisted JSON, never when building."""


class UnknownRoleError(BotError):
    """A turn names a role that is not one of :class:`Role`.

    Args:
        role: The value found.
    """

    status_code = 400

    def __init__(self, role: object) -> None:
        shown = repr(role) if len(repr(role)) <= 40 else repr(role)[:37] + "..."
        super().__init__(
            f"unknown conversation role {shown}; expected one of "
            + ", ".join(r.value for r in Role)
        )
        self.role = role


def parse_role(value: object, *, aliases: bool = False) -> Role:
    """Read a role word.

    Args:
        value: A :class:`Role` or its value (``"customer"``, ``"agent"``, ``"bot"``).
        aliases: Also accept the legacy words of :data:`ROLE_ALIASES` (for persisted data).

    Returns:
        The role.

    Raises:
        UnknownRoleError: If ``value`` is not a role.
    """
    if isinstance(value, str):
        try:
            return Role(value)
        except ValueError:
            if aliases and value in ROLE_ALIASES:
                return ROLE_ALIASES[value]
    raise UnknownRoleError(value)


def from_unix(seconds: float) -> datetime:
    """Turn a Unix time (what Rasa events and the handoff stores carry) into a UTC datetime.

    Args:
        seconds: Seconds since the epoch.

    Returns:
        The timezone-aware datetime, to the microsecond.
    """
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


@dataclass(frozen=True)
class Turn:
    """One message of a conversation.

    Attributes:
        role: Who wrote it; a role word (``"customer"``) is accepted and turned into a
            :class:`Role`.
        text: What was written (transcripts: cleaned of quotes and signatures where the
            format has them).
        timestamp: When it was sent, if known.
        intent: The labelled intent of a customer turn, if known.

    Raises:
        UnknownRoleError: If ``role`` is not a :class:`Role` (legacy words are accepted by
            :meth:`from_dict` only).
        TypeError: If ``timestamp`` is not a datetime (convert Unix times with
            :func:`from_unix`).
    """

    role: Role
    text: str
    timestamp: datetime | None = None
    intent: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", parse_role(self.role))
        if self.timestamp is not None and not isinstance(self.timestamp, datetime):
            raise TypeError("Turn.timestamp must be a datetime or None (see from_unix)")

    def to_dict(self) -> dict[str, Any]:
        """The turn as JSON-ready built-in types (what the handoff stores persist).

        Returns:
            ``{"role", "text", "timestamp"}`` with the timestamp as Unix seconds (or
            ``None``), plus ``"intent"`` when the turn has one.
        """
        data: dict[str, Any] = {
            "role": self.role.value,
            "text": self.text,
            "timestamp": None if self.timestamp is None else self.timestamp.timestamp(),
        }
        if self.intent is not None:
            data["intent"] = self.intent
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Turn:
        """Rebuild a turn from :meth:`to_dict` output, including data written before.

        Legacy role words (:data:`ROLE_ALIASES`, e.g. the handoff transcript's ``"user"``)
        are read as their current role.

        Args:
            data: The decoded JSON object.

        Returns:
            The turn.

        Raises:
            UnknownRoleError: If the role is neither a role nor a legacy alias.
        """
        stamp = data.get("timestamp")
        return cls(
            role=parse_role(data.get("role"), aliases=True),
            text=str(data.get("text", "")),
            timestamp=None if stamp is None else from_unix(float(stamp)),
            intent=data.get("intent"),
        )
