"""Real mail servers on loopback, for the email channel's tests and the soak.

* :func:`smtp_collector`: an aiosmtpd ``Controller`` that keeps every mail it receives.
* :func:`dovecot_imap`: Debian's Dovecot with its own config in a temp folder
  (passwd-file auth, a maildir, plain IMAP on 127.0.0.1, no SSL). Dovecot refuses to run
  its login process or mail access as root, so those run as the ``dovenull``/``dovecot``
  system users and the maildir belongs to ``dovecot``.
"""

from __future__ import annotations

import email
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from loopback.ports import free_port
from loopback.processes import stop_processes

DOVECOT = Path("/usr/sbin/dovecot")


@dataclass
class CollectingHandler:
    """aiosmtpd handler that keeps each mail, parsed, with its envelope."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        """Keep the received mail and wake waiters (aiosmtpd's DATA hook)."""
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=default)
        assert isinstance(parsed, EmailMessage)
        with self._changed:
            self.messages.append((str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(
        self, match: Callable[[EmailMessage], bool], timeout: float = 90.0
    ) -> EmailMessage:
        """Return the first mail that ``match`` accepts, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for _, _, message in self.messages:
                    if match(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no matching mail reached the SMTP server")
                self._changed.wait(left)

    def matching(self, match: Callable[[EmailMessage], bool]) -> list[EmailMessage]:
        """Return every mail so far that ``match`` accepts."""
        with self._changed:
            return [m for _, _, m in self.messages if match(m)]


@dataclass
class SmtpServer:
    """A running SMTP collector and the handler holding its mail."""

    host: str
    port: int
    handler: CollectingHandler


@contextmanager
def smtp_collector() -> Iterator[SmtpServer]:
    """Run an SMTP server on loopback that collects mail."""
    handler = CollectingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


@dataclass
class ImapServer:
    """A running Dovecot IMAP server with one user."""

    host: str
    port: int
    user: str
    password: str
    log: Path

    def client(self) -> imaplib.IMAP4:
        """Return a logged-in IMAP client; the caller logs out."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, raw: bytes, mailbox: str = "INBOX") -> None:
        """Put a mail into the mailbox, unseen (IMAP APPEND, as a delivery agent would)."""
        client = self.client()
        try:
            status, _ = client.append(mailbox, "", None, raw)
            assert status == "OK"
        finally:
            client.logout()

    def flags(self, message_id: str, mailbox: str = "INBOX") -> set[str]:
        """Return the flags of the mail with ``message_id``."""
        client = self.client()
        try:
            client.select(mailbox)
            status, data = client.uid("SEARCH", "HEADER", "Message-ID", message_id)
            assert status == "OK"
            uids = (data[0] or b"").split()
            assert uids, f"{message_id} is not in {mailbox}"
            status, data = client.uid("FETCH", uids[0].decode(), "(FLAGS)")
            flags = imaplib.ParseFlags(data[0] if isinstance(data[0], bytes) else b"")
            return {f.decode() for f in flags}
        finally:
            client.logout()

    def wait_seen(self, message_id: str, timeout: float = 90.0) -> None:
        """Wait until the mail with ``message_id`` is flagged seen, or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while "\\Seen" not in self.flags(message_id):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{message_id} was not flagged seen")
            time.sleep(0.3)


def _dovecot_config(root: Path, port: int, mail_user: pwd.struct_passwd) -> str:
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
mail_location = maildir:{root}/mail/%u
first_valid_uid = {mail_user.pw_uid}
first_valid_gid = {mail_user.pw_gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
"""


def _wait_imap_greeting(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError("dovecot did not greet")


@contextmanager
def dovecot_imap(
    user: str = "bot@pinecrest.example", password: str = "imap-secret"
) -> Iterator[ImapServer]:
    """Run Dovecot on a free loopback port with one passwd-file user and a maildir.

    The folder lives under the system temp dir (not pytest's 0700 tree) because the
    mail processes run as the ``dovecot`` user and must reach the maildir.
    """
    mail_user = pwd.getpwnam("dovecot")
    root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
    os.chmod(root, 0o755)
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir()
    for sub in ("mail", "home"):
        os.chown(root / sub, mail_user.pw_uid, mail_user.pw_gid)
    (root / "passwd").write_text(f"{user}:{{PLAIN}}{password}::::::\n")
    port = free_port()
    config = root / "dovecot.conf"
    config.write_text(_dovecot_config(root, port, mail_user))
    proc = subprocess.Popen(
        [str(DOVECOT), "-F", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_imap_greeting(port, proc)
        yield ImapServer("127.0.0.1", port, user, password, root / "dovecot.log")
    finally:
        stop_processes([proc], timeout=10)
        shutil.rmtree(root, ignore_errors=True)
