"""Negative sentiment and anger in one customer message.

VADER (the maintained ``vaderSentiment`` lexicon) gives a compound score from -1 to 1.
On its own it misreads support chat: polite complaints score negative, sarcasm ("oh great,
late again") scores positive, and shouting barely moves it. So the decision to escalate
combines the compound score with short cue lists, all configured in ``escalation.yml``:

* escalate when ``compound <= compound_threshold``; or
* when an anger cue or shouting (mostly capitals) is present and
  ``compound <= cue_compound_threshold``; or
* when a sarcasm cue ("oh great") comes with a complaint word ("late", "again").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.escalation.config import SentimentConfig

_WORD = re.compile(r"[A-Za-z][A-Za-z']*")


@dataclass(frozen=True)
class SentimentScore:
    """The sentiment of one message.

    Attributes:
        compound: VADER compound score of the message, -1 (negative) to 1 (positive).
        cues: Anger cues found (configured cue phrases, ``<shouting>``, ``<sarcasm>``);
            only configured words, never the customer's text.
        escalate: Whether the message alone is negative enough to hand over.
    """

    compound: float
    cues: tuple[str, ...]
    escalate: bool

    @property
    def angry(self) -> bool:
        """Whether the message carries any anger cue."""
        return bool(self.cues)


class SentimentAnalyzer:
    """Scores customer messages; build one per process (VADER loads its lexicon once).

    Args:
        config: Thresholds and cue lists.
    """

    def __init__(self, config: SentimentConfig) -> None:
        self.config = config
        self._vader = SentimentIntensityAnalyzer()
        self._cues = [(cue, _cue_pattern(cue)) for cue in config.anger_cues]
        self._sarcasm = [(cue, _cue_pattern(cue)) for cue in config.sarcasm_cues]
        self._complaints = [(word, _cue_pattern(word)) for word in config.complaint_words]

    def compound(self, text: str) -> float:
        """Plain VADER compound score, the baseline.

        Args:
            text: The message.

        Returns:
            The compound score.
        """
        return float(self._vader.polarity_scores(text)["compound"])

    def score(self, text: str) -> SentimentScore:
        """Score a message and decide whether it calls for a person.

        Args:
            text: The message.

        Returns:
            The score.
        """
        cfg = self.config
        lowered = text.lower()
        cues = [cue for cue, pattern in self._cues if pattern.search(lowered)]
        if self._shouting(text):
            cues.append("<shouting>")
        compound = self.compound(text)
        sarcastic = any(p.search(lowered) for _, p in self._sarcasm) and any(
            p.search(lowered) for _, p in self._complaints
        )
        if sarcastic:
            cues.append("<sarcasm>")
        escalate = (
            compound <= cfg.compound_threshold
            or sarcastic
            or (bool(cues) and compound <= cfg.cue_compound_threshold)
        )
        return SentimentScore(compound=compound, cues=tuple(cues), escalate=escalate)

    def _shouting(self, text: str) -> bool:
        words = [w for w in _WORD.findall(text) if len(w) > 1]
        if len(words) < self.config.shouting_min_words:
            return False
        upper = sum(1 for w in words if w.isupper())
        return upper / len(words) >= self.config.shouting_ratio


def _cue_pattern(cue: str) -> re.Pattern[str]:
    """Match a cue as whole words; cues made of punctuation match anywhere."""
    escaped = re.escape(cue.lower())
    if cue[:1].isalnum():
        escaped = r"\b" + escaped
    if cue[-1:].isalnum():
        escaped = escaped + r"\b"
    return re.compile(escaped)
