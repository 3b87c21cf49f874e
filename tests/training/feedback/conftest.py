"""The inbox fixture (tests/support/inbox.py), for the feedback tests."""

from tests.support.inbox import inbox

__all__ = ["inbox"]
