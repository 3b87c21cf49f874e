"""``python -m training <command>``: one command per entry of :data:`COMMANDS`.

Each command is a module with ``configure(parser)`` (adds its arguments) and
``run(args) -> int`` (the exit status); it is imported only when chosen.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import MappingProxyType

from common.pretrained import ensure_offline

# Command name -> (module with configure/run, one-line help).
COMMANDS = MappingProxyType(
    {
        "prepare": (
            "training.prepare.cli",
            "clean, redact, dedupe, balance and split transcripts into Rasa data and pairs",
        ),
        "discover": (
            "training.discover.cli",
            "cluster unlabelled openers into intents_proposed.yml for review",
        ),
        "apply-intents": (
            "training.discover.apply_cli",
            "turn a reviewed intents_proposed.yml into Rasa NLU YAML",
        ),
        "build-bot": (
            "training.buildbot.cli",
            "build a complete Rasa project from transcripts: intents, mined responses, routes",
        ),
        "kb": (
            "training.knowledge.cli",
            "turn a help-centre folder into redacted knowledge chunks and their vectors",
        ),
        "kb-examples": (
            "training.knowledge.qa_cli",
            "build (question, passages, answer) examples for the answer writer",
        ),
        "kb-answerability": (
            "training.knowledge.answerability_cli",
            "fit when the bot answers from the knowledge base and when it says it does not know",
        ),
        "trending": (
            "training.discover.trending_cli",
            "cluster the last two weeks' fallback messages into trending topics and proposals",
        ),
        "pii-ner": (
            "training.pii_ner.cli",
            "train the MiniLM tagger of person names and addresses used by PII redaction",
        ),
        "export-feedback": (
            "training.feedback.cli",
            "write agents' replies and corrections as NLU examples and generation pairs",
        ),
    }
)


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """Build the parser, importing only the module of the command named in ``argv``.

    Args:
        argv: The arguments (without the program name).

    Returns:
        The parser.

    """
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name in argv:
            module = importlib.import_module(module_name)
            module.configure(command)
            command.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command.

    Args:
        argv: The arguments; default: ``sys.argv[1:]``.

    Returns:
        The command's exit status.

    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    ensure_offline()
    args = build_parser(args_list).parse_args(args_list)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
