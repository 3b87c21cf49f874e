"""Remember recently seen Slack event ids, so a retried event is answered once.

Slack retries an event up to three times (about immediately, after one minute and
after five minutes, with ``X-Slack-Retry-Num``) when it did not see a 200 in time, and
may deliver the same message twice under different event types. The channel keeps the
keys it has seen for a while and acknowledges repeats without processing them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["RecentKeys"]

DEFAULT_TTL_S = 15 * 60.0
"""Longer than Slack's retry schedule (the last retry comes about 5 minutes later)."""


@dataclass
class RecentKeys:
    """A bounded set of keys that forgets each one ``ttl`` seconds after it was added.

    Runs on one event loop, so it needs no lock.

    Attributes:
        ttl: Seconds a key is remembered.
        max_keys: The most keys kept; the oldest go first when it is full.
        clock: Monotonic clock, replaceable in tests.

    """

    ttl: float = DEFAULT_TTL_S
    max_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _added: OrderedDict[str, float] = field(default_factory=OrderedDict, repr=False)

    def __post_init__(self) -> None:
        if self.ttl <= 0 or self.max_keys < 1:
            raise ValueError("ttl must be > 0 and max_keys >= 1")

    def first_time(self, key: str) -> bool:
        """Record ``key`` and tell whether it was new.

        Args:
            key: An event id or message key.

        Returns:
            ``True`` the first time a key is seen within ``ttl``; ``False`` for a repeat.

        """
        now = self.clock()
        self._expire(now)
        if key in self._added:
            return False
        self._added[key] = now
        while len(self._added) > self.max_keys:
            self._added.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        self._expire(self.clock())
        return key in self._added

    def __len__(self) -> int:
        self._expire(self.clock())
        return len(self._added)

    def _expire(self, now: float) -> None:
        while self._added:
            key, added = next(iter(self._added.items()))
            if now - added < self.ttl:
                break
            del self._added[key]
