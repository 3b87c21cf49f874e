"""The inbox fixture of tests/bot/inbox, for the retraining test."""

from tests.bot.inbox.conftest import inbox

__all__ = ["inbox"]
