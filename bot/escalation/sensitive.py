"""Sensitive topics (legal threats, fraud, bereavement, ...) from configured keyword lists."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.escalation.config import SensitiveTopic


@dataclass(frozen=True)
class TopicMatch:
    """A sensitive topic found in a message.

    Attributes:
        topic: The topic's name in ``escalation.yml``.
        priority: The topic's priority.
    """

    topic: str
    priority: int


class SensitiveTopicMatcher:
    """Finds configured sensitive topics in a message; keywords match as whole words.

    Args:
        topics: The configured topics, in config order.
    """

    def __init__(self, topics: tuple[SensitiveTopic, ...]) -> None:
        self._topics = [(topic, _keywords_pattern(topic.keywords)) for topic in topics]

    def matches(self, text: str) -> list[TopicMatch]:
        """Every topic the message touches, in config order.

        Args:
            text: The message.

        Returns:
            The matches (empty when none).
        """
        found: list[TopicMatch] = []
        for topic, keywords in self._topics:
            hit = keywords is not None and keywords.search(text) is not None
            if hit or any(p.search(text) for p in topic.patterns):
                found.append(TopicMatch(topic.name, topic.priority))
        return found


def _keywords_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    if not keywords:
        return None
    alternatives = "|".join(
        r"\s+".join(re.escape(part) for part in k.split()) for k in sorted(keywords, key=len)[::-1]
    )
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)
