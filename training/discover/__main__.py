"""``python -m training.discover propose INPUT --out DIR`` and ``... apply FILE --out NLU``."""

from __future__ import annotations

import argparse
import logging

from training.discover import apply_cli, cli


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with the ``propose`` and ``apply`` commands."""
    parser = argparse.ArgumentParser(prog="python -m training.discover", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    propose = sub.add_parser("propose", help="cluster messages into intents_proposed.yml")
    cli.configure(propose)
    propose.set_defaults(handler=cli.run)
    apply = sub.add_parser("apply", help="turn a reviewed intents_proposed.yml into nlu.yml")
    apply_cli.configure(apply)
    apply.set_defaults(handler=apply_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments, defaulting to ``sys.argv[1:]``.

    Returns:
        The exit status.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
