r"""Polling an IMAP mailbox with ``aioimaplib``.

Each poll logs in, selects the mailbox, searches ``UNSEEN`` and fetches each message with
``BODY.PEEK[]`` (which leaves it unseen). A message is flagged ``\Seen`` only after its
handler returned, that is after the reply was handed to SMTP or the message was judged not
to need one; a crash or a failed send leaves it unseen for the next poll. A message that
keeps failing is given up (flagged seen, logged) after ``max_attempts`` polls, so one bad
message cannot block the mailbox.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aioimaplib import IMAP4, IMAP4_SSL

from common.errors import BotError, ConfigError

__all__ = ["ImapError", "ImapPoller", "ImapSettings", "MessageHandler"]

logger = logging.getLogger(__name__)

MessageHandler = Callable[[bytes], Awaitable[None]]
"""Handles one message's bytes; raising leaves the message unseen."""

_LITERAL = re.compile(rb"\{(\d+)\}\s*$")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UIDS = re.compile(rb"\d+")


class ImapError(BotError):
    """The IMAP server refused a command or could not be reached."""

    status_code = 502


@dataclass(frozen=True)
class ImapSettings:
    """How to reach and read the support mailbox.

    Attributes:
        host: Server host.
        port: Server port (993 with SSL, 143 without).
        user: Login.
        password: Password.
        mailbox: The folder to read.
        ssl: Implicit TLS.
        poll_interval: Seconds between polls.
        timeout: Seconds to wait for one command.
        max_attempts: Polls a failing message is retried before it is given up.

    """

    host: str
    user: str
    password: str
    port: int = 993
    mailbox: str = "INBOX"
    ssl: bool = True
    poll_interval: float = 30.0
    timeout: float = 30.0
    max_attempts: int = 5

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> ImapSettings | None:
        """Build the settings from the ``imap`` section of the channel's credentials.

        Returns:
            The settings, or None when there is no ``imap`` section (webhook only).

        Raises:
            ConfigError: If host, user or password is missing.

        """
        if not values:
            return None
        missing = [key for key in ("host", "user", "password") if not values.get(key)]
        if missing:
            raise ConfigError(f"email channel: imap.{', imap.'.join(missing)} required")
        use_ssl = bool(values.get("ssl", True))
        return cls(
            host=str(values["host"]),
            user=str(values["user"]),
            password=str(values["password"]),
            port=int(values.get("port", 993 if use_ssl else 143)),
            mailbox=str(values.get("mailbox", "INBOX")),
            ssl=use_ssl,
            poll_interval=float(values.get("poll_interval", 30.0)),
            timeout=float(values.get("timeout", 30.0)),
            max_attempts=int(values.get("max_attempts", 5)),
        )


def _check(response: Any, what: str) -> list[Any]:
    if response.result != "OK":
        raise ImapError(f"IMAP {what} failed ({response.result})")
    return list(response.lines)


def fetched_literal(lines: list[Any]) -> bytes | None:
    """Return the first literal (``{n}`` followed by the data) of a FETCH response.

    Args:
        lines: ``Response.lines`` of a FETCH.

    Returns:
        The literal's bytes, or None if the response has none.

    """
    for i, line in enumerate(lines[:-1]):
        if isinstance(line, (bytes, bytearray)) and _LITERAL.search(bytes(line)):
            return bytes(lines[i + 1])
    return None


def fetched_size(lines: list[Any]) -> int | None:
    """Return ``RFC822.SIZE`` from a FETCH response, or None if absent."""
    for line in lines:
        match = _SIZE.search(bytes(line)) if isinstance(line, (bytes, bytearray)) else None
        if match:
            return int(match.group(1))
    return None


class ImapPoller:
    """Reads new mail from one mailbox and hands each message to a handler.

    Args:
        settings: The mailbox.
        handler: Called with each new message's bytes.
        max_message_bytes: Larger messages are skipped (flagged seen, logged).

    """

    def __init__(
        self, settings: ImapSettings, handler: MessageHandler, max_message_bytes: int
    ) -> None:
        self.settings = settings
        self.handler = handler
        self.max_message_bytes = max_message_bytes
        self._attempts: dict[str, int] = {}

    async def _connect(self) -> IMAP4:
        s = self.settings
        client: IMAP4
        if s.ssl:
            client = IMAP4_SSL(
                host=s.host,
                port=s.port,
                timeout=s.timeout,
                ssl_context=ssl.create_default_context(),
            )
        else:
            client = IMAP4(host=s.host, port=s.port, timeout=s.timeout)
        await client.wait_hello_from_server()
        _check(await client.login(s.user, s.password), "LOGIN")
        _check(await client.select(s.mailbox), "SELECT")
        return client

    async def poll_once(self) -> int:
        """Read the mailbox's unseen messages once.

        Returns:
            How many messages were handled and flagged seen.

        Raises:
            ImapError: If the server refused a command.
            OSError: If the server cannot be reached.

        """
        client = await self._connect()
        done = 0
        try:
            lines = _check(await client.uid_search("UNSEEN", charset=None), "SEARCH")
            uids = [uid.decode() for line in lines[:1] for uid in _UIDS.findall(bytes(line))]
            for uid in uids:
                if await self._process(client, uid):
                    await self._mark_seen(client, uid)
                    done += 1
        finally:
            try:
                await client.logout()
            except Exception:  # the session is over either way
                logger.debug("IMAP logout failed.", exc_info=True)
        return done

    async def _process(self, client: IMAP4, uid: str) -> bool:
        """Handle one message; return whether it may be flagged seen."""
        size = fetched_size(_check(await client.uid("fetch", uid, "(RFC822.SIZE)"), "FETCH"))
        if size is not None and size > self.max_message_bytes:
            logger.warning(
                "Skipping IMAP message uid %s: %d bytes exceeds %d.",
                uid,
                size,
                self.max_message_bytes,
            )
            return True
        raw = fetched_literal(_check(await client.uid("fetch", uid, "(BODY.PEEK[])"), "FETCH"))
        if raw is None:
            logger.warning("IMAP message uid %s has no body in the FETCH response.", uid)
            return True
        try:
            await self.handler(raw)
        except Exception:
            attempts = self._attempts.get(uid, 0) + 1
            self._attempts[uid] = attempts
            if attempts >= self.settings.max_attempts:
                logger.exception("Giving up IMAP message uid %s after %d attempts.", uid, attempts)
                self._attempts.pop(uid, None)
                return True
            logger.exception("IMAP message uid %s failed (attempt %d); kept unseen.", uid, attempts)
            return False
        self._attempts.pop(uid, None)
        return True

    async def _mark_seen(self, client: IMAP4, uid: str) -> None:
        _check(await client.uid("store", uid, "+FLAGS", "(\\Seen)"), "STORE")

    async def run(self) -> None:
        """Poll until cancelled; errors are logged and the next poll tries again."""
        logger.info(
            "Polling IMAP mailbox %s every %.1f s.",
            self.settings.mailbox,
            self.settings.poll_interval,
        )
        while True:
            try:
                handled = await self.poll_once()
                if handled:
                    logger.info("Handled %d message(s) from IMAP.", handled)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                logger.warning("IMAP poll failed (%s); retrying later.", type(e).__name__)
            await asyncio.sleep(self.settings.poll_interval)
