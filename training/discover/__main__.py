"""Deprecated: ``python -m training.discover propose|apply ...`` forwards to ``python -m training``.

``propose`` became ``python -m training discover`` and ``apply`` became
``python -m training apply-intents``, with the same arguments.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

logger = logging.getLogger(__name__)

# Old command -> the command of ``python -m training``.
RENAMED = {"propose": "discover", "apply": "apply-intents"}


def main(argv: Sequence[str] | None = None) -> int:
    """Log a deprecation warning and run the same command through ``python -m training``.

    Args:
        argv: Arguments, defaulting to ``sys.argv[1:]``.

    Returns:
        The exit status.
    """
    from training.__main__ import main as training_main

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in RENAMED:
        args[0] = RENAMED[args[0]]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logger.warning(
        "python -m training.discover is deprecated; use python -m training %s",
        args[0] if args else "discover | apply-intents",
    )
    return training_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
