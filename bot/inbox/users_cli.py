"""``python -m bot.inbox add-user NAME --role agent|admin``: create or update an inbox user."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence

from bot.inbox.auth import Role, UserStore
from bot.inbox.db import DEFAULT_DB_PATH, InboxDB
from common.errors import BotError

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The command line parser."""
    parser = argparse.ArgumentParser(prog="python -m bot.inbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = sub.add_parser("add-user", help="create a user or change their password and role")
    add.add_argument("name", help="login name (lower case)")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
    add.add_argument("--db", default=DEFAULT_DB_PATH, help="inbox database (default: %(default)s)")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    return parser


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise BotError("the passwords differ")
    return first


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command.

    Args:
        argv: Arguments without the program name; default ``sys.argv[1:]``.

    Returns:
        The exit status.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        user = UserStore(InboxDB(args.db)).add_user_sync(
            args.name, _password(args.password_stdin), args.role
        )
    except BotError as e:
        logger.error("%s", e)
        return 2
    logger.info("Saved %s (%s) in %s.", user.username, user.role.value, args.db)
    return 0
