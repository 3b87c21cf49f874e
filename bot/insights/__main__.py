"""Entry point of ``python -m bot.insights``."""

import sys

from bot.insights.cli import main

if __name__ == "__main__":
    sys.exit(main())
