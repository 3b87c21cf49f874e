"""Agent accounts, server-side sessions and the login rate limit.

Passwords are bcrypt hashes; a session is a random token (``secrets.token_urlsafe``) whose
SHA-256 is stored, so a leaked database does not leak live sessions. Each session carries
its own CSRF token, which the single-page app sends back in the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import bcrypt

from bot.inbox.db import InboxDB
from common.errors import BotError

logger = logging.getLogger(__name__)

SESSION_TTL_SECONDS = 12 * 3600
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_CHARS = 8

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash BLOB NOT NULL,
    role TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at REAL NOT NULL
)
"""


class Role(str, Enum):
    """What a user may do: agents handle their tickets, admins see every ticket."""

    AGENT = "agent"
    ADMIN = "admin"


class AuthError(BotError):
    """Not logged in, or a bad session."""

    status_code = 401


class ForbiddenError(BotError):
    """Logged in, but not allowed."""

    status_code = 403


class TooManyAttemptsError(BotError):
    """Too many failed logins; try again later."""

    status_code = 429


class UserError(BotError):
    """An invalid user name, role or password when adding a user."""

    status_code = 400


@dataclass(frozen=True)
class User:
    """A logged-in inbox user.

    Attributes:
        username: The login name (also the agent id on tickets).
        role: Agent or admin.
    """

    username: str
    role: Role

    @property
    def is_admin(self) -> bool:
        """Whether the user sees every ticket."""
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class Session:
    """A live session.

    Attributes:
        token: The cookie value (only known right after login).
        user: Whose session it is.
        csrf: The token POST requests must repeat in ``X-CSRF-Token``.
        expires_at: Unix time it ends.
    """

    token: str
    user: User
    csrf: str
    expires_at: float


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UserStore:
    """Users and sessions in the inbox database.

    Args:
        db: The inbox database.
        clock: Returns the current Unix time.
        session_ttl_seconds: Session lifetime.
        bcrypt_rounds: bcrypt cost factor of new hashes.
    """

    def __init__(
        self,
        db: InboxDB,
        *,
        clock: Callable[[], float] = time.time,
        session_ttl_seconds: float = SESSION_TTL_SECONDS,
        bcrypt_rounds: int = 12,
    ) -> None:
        self.db = db
        self.bcrypt_rounds = bcrypt_rounds
        self._clock = clock
        self._ttl = session_ttl_seconds
        self._dummy: bytes | None = None
        self._dummy_lock = threading.Lock()

    def _dummy_hash(self) -> bytes:
        """A hash of the same cost as real ones, made on first use (blocking).

        Checking an unknown user's password against it costs what a wrong password
        costs, so login timing does not reveal which user names exist.
        """
        with self._dummy_lock:
            if self._dummy is None:
                salt = bcrypt.gensalt(self.bcrypt_rounds)
                self._dummy = bcrypt.hashpw(secrets.token_urlsafe(16).encode("ascii"), salt)
            return self._dummy

    async def initialize(self) -> None:
        """Create the tables."""
        await self.db.ensure_schema(SCHEMA)

    def add_user_sync(self, username: str, password: str, role: Role | str) -> User:
        """Add or update a user (blocking; the CLI uses it).

        Args:
            username: Lower-case letters, digits, ``.``, ``_``, ``-``; 2-32 characters.
            password: At least 8 characters.
            role: ``agent`` or ``admin``.

        Returns:
            The user.

        Raises:
            UserError: For an invalid name, role or password.
        """
        if not USERNAME_RE.match(username):
            raise UserError("user names are 2-32 lower-case letters, digits, '.', '_' or '-'")
        try:
            parsed = Role(role)
        except ValueError as e:
            raise UserError(f"unknown role {role!r}; use agent or admin") from e
        if len(password) < MIN_PASSWORD_CHARS:
            raise UserError(f"passwords need at least {MIN_PASSWORD_CHARS} characters")
        hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(self.bcrypt_rounds))
        now = self._clock()

        def write(conn: sqlite3.Connection) -> None:
            for statement in SCHEMA.split(";"):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO users(username, password_hash, role, created_at) VALUES (?,?,?,?)"
                " ON CONFLICT(username) DO UPDATE SET password_hash=excluded.password_hash,"
                " role=excluded.role",
                (username, hashed, parsed.value, now),
            )
            # A new password ends the user's sessions.
            conn.execute("DELETE FROM sessions WHERE username=?", (username,))

        self.db.run_sync(write)
        logger.info("Inbox user %s saved with role %s.", username, parsed.value)
        return User(username, parsed)

    async def add_user(self, username: str, password: str, role: Role | str) -> User:
        """Add or update a user; see :meth:`add_user_sync`."""
        return await asyncio.to_thread(self.add_user_sync, username, password, role)

    async def users(self) -> list[User]:
        """Every user, by name."""

        def read(conn: sqlite3.Connection) -> list[User]:
            rows = conn.execute("SELECT username, role FROM users ORDER BY username").fetchall()
            return [User(r["username"], Role(r["role"])) for r in rows]

        return await self.db.run(read, write=False)

    async def authenticate(self, username: str, password: str) -> User | None:
        """Check a password (bcrypt runs in a worker thread).

        Args:
            username: Login name.
            password: Password.

        Returns:
            The user, or ``None`` for an unknown user or a wrong password.
        """

        def lookup(conn: sqlite3.Connection) -> tuple[bytes, str] | None:
            row = conn.execute(
                "SELECT password_hash, role FROM users WHERE username=?", (username,)
            ).fetchone()
            return None if row is None else (bytes(row["password_hash"]), str(row["role"]))

        def check(found: tuple[bytes, str] | None) -> User | None:
            if found is None:
                # Same cost as a real check, so timing does not reveal user names.
                bcrypt.checkpw(password.encode("utf-8"), self._dummy_hash())
                return None
            hashed, role = found
            if not bcrypt.checkpw(password.encode("utf-8"), hashed):
                return None
            return User(username, Role(role))

        # bcrypt runs after the read transaction, so it holds no database lock.
        return await asyncio.to_thread(check, await self.db.run(lookup, write=False))

    async def create_session(self, user: User) -> Session:
        """Start a session for ``user``.

        Returns:
            The session, with its token for the cookie.
        """
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self._clock()
        expires = now + self._ttl

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            conn.execute(
                "INSERT INTO sessions(token_hash, username, csrf, expires_at) VALUES (?,?,?,?)",
                (_token_hash(token), user.username, csrf, expires),
            )

        await self.db.run(write)
        return Session(token, user, csrf, expires)

    async def session(self, token: str | None) -> Session:
        """The live session behind a cookie value.

        Raises:
            AuthError: If there is no such live session.
        """
        if not token:
            raise AuthError("login required")
        now = self._clock()

        def read(conn: sqlite3.Connection) -> Session | None:
            row = conn.execute(
                "SELECT s.username, s.csrf, s.expires_at, u.role FROM sessions s"
                " JOIN users u ON u.username = s.username WHERE s.token_hash=?",
                (_token_hash(token),),
            ).fetchone()
            if row is None or row["expires_at"] < now:
                return None
            return Session(
                token, User(row["username"], Role(row["role"])), row["csrf"], row["expires_at"]
            )

        found = await self.db.run(read, write=False)
        if found is None:
            raise AuthError("login required")
        return found

    async def end_session(self, token: str) -> None:
        """Log out: forget the session."""
        await self.db.run(
            lambda conn: conn.execute(
                "DELETE FROM sessions WHERE token_hash=?", (_token_hash(token),)
            )
        )


def check_csrf(session: Session, header: str | None) -> None:
    """Check the ``X-CSRF-Token`` header of a POST against the session's token.

    Raises:
        ForbiddenError: If it is missing or wrong.
    """
    if not header or not hmac.compare_digest(header, session.csrf):
        raise ForbiddenError("missing or wrong CSRF token")


class LoginLimiter:
    """Allows ``max_failures`` failed logins per key (user name and client address) per window.

    Args:
        max_failures: Failures allowed in the window.
        window_seconds: Window length.
        clock: Monotonic clock.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, list[float]] = {}

    def _recent(self, key: str) -> list[float]:
        cutoff = self._clock() - self.window
        recent = [t for t in self._failures.get(key, []) if t > cutoff]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return recent

    def check(self, *keys: str) -> None:
        """Refuse when any key has used up its failures.

        Raises:
            TooManyAttemptsError: If so.
        """
        if any(len(self._recent(k)) >= self.max_failures for k in keys):
            raise TooManyAttemptsError("too many failed logins; try again in a few minutes")

    def failed(self, *keys: str) -> None:
        """Count a failed login against each key."""
        now = self._clock()
        for key in keys:
            self._failures.setdefault(key, []).append(now)

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of the keys."""
        for key in keys:
            self._failures.pop(key, None)
