"""Sending mail over SMTP with ``aiosmtplib``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib

from common.errors import BotError, ConfigError

__all__ = ["EmailDeliveryError", "Mailer", "SmtpMailer", "SmtpSettings"]

logger = logging.getLogger(__name__)


class EmailDeliveryError(BotError):
    """The SMTP server did not take a mail."""

    status_code = 502


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server.

    Attributes:
        host: Server host.
        port: Server port (587 for STARTTLS, 465 for implicit TLS, 25 plain).
        user: Login, or empty for none.
        password: Password.
        starttls: Upgrade the connection with STARTTLS (required when true).
        ssl: Implicit TLS from the first byte (port 465).
        timeout: Seconds to wait for the server.

    """

    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    starttls: bool = True
    ssl: bool = False
    timeout: float = 30.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> SmtpSettings:
        """Build the settings from the ``smtp`` section of the channel's credentials.

        Raises:
            ConfigError: If ``host`` is missing.

        """
        values = dict(values or {})
        if not values.get("host"):
            raise ConfigError("email channel: smtp.host is required")
        return cls(
            host=str(values["host"]),
            port=int(values.get("port", 587)),
            user=str(values.get("user") or ""),
            password=str(values.get("password") or ""),
            starttls=bool(values.get("starttls", True)),
            ssl=bool(values.get("ssl", False)),
            timeout=float(values.get("timeout", 30.0)),
        )


class Mailer(Protocol):
    """Hands finished mails to a mail server."""

    async def send(self, message: EmailMessage) -> None:
        """Send ``message``; raise :class:`EmailDeliveryError` if it was not taken."""


class SmtpMailer:
    """Sends each mail on a fresh SMTP connection.

    Args:
        settings: The server.

    """

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the SMTP server.

        Raises:
            EmailDeliveryError: If the server cannot be reached or refuses the mail.

        """
        s = self.settings
        try:
            await aiosmtplib.send(
                message,
                hostname=s.host,
                port=s.port,
                username=s.user or None,
                password=s.password or None,
                use_tls=s.ssl,
                start_tls=s.starttls if not s.ssl else False,
                timeout=s.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as e:
            raise EmailDeliveryError(f"SMTP server refused the mail ({type(e).__name__})") from e
        logger.info("Handed mail %s to the SMTP server.", message.get("Message-ID", "?"))
