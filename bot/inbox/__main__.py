"""Entry point of ``python -m bot.inbox``."""

import sys

from bot.inbox.users_cli import main

if __name__ == "__main__":
    sys.exit(main())
