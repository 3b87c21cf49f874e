"""spaCy's names, kept only where the MiniLM tagger does not rule them out, plus the tagger's.

The union of the two finders (``names: both``) adds the tagger's recall to spaCy's false
alarms: drink names, products and places that the small NER model takes for people. Here
every span of the tagger is kept, and a spaCy PERSON span only when the tagger gives at
least one of its word-pieces a name probability of ``min_person_p`` or more. The tagger
runs once per batch; its probabilities come with its spans.
"""

from __future__ import annotations

from collections.abc import Sequence

from common.privacy.detectors import Detection
from common.privacy.names import NameFinder
from common.privacy.tagger import MiniLMNameFinder, TokenScore

DEFAULT_MIN_PERSON_P = 0.05


def span_person_p(scores: Sequence[TokenScore], start: int, end: int) -> float:
    """The highest name probability of the word-pieces that overlap ``[start, end)``.

    Args:
        scores: ``(start, end, p)`` per word-piece, as :meth:`MiniLMNameFinder.tag_many`.
        start: The span's first character.
        end: One past its last character.

    Returns:
        The probability, 0.0 when no word-piece overlaps.

    """
    return max((p for s, e, p in scores if s < end and start < e), default=0.0)


class VetoedNameFinder:
    """The tagger's spans, and the other finder's PERSON spans that the tagger allows.

    Args:
        other: The finder whose PERSON spans the tagger checks (spaCy's).
        tagger: The MiniLM tagger.
        min_person_p: The least name probability, on one of a span's word-pieces, that
            keeps the other finder's span.

    """

    def __init__(
        self,
        other: NameFinder,
        tagger: MiniLMNameFinder,
        min_person_p: float = DEFAULT_MIN_PERSON_P,
    ) -> None:
        if not 0.0 <= min_person_p <= 1.0:
            raise ValueError(f"min_person_p must be within [0, 1], not {min_person_p}")
        self.other = other
        self.tagger = tagger
        self.min_person_p = min_person_p

    def find_many(self, texts: Sequence[str]) -> list[list[Detection]]:
        """Return, per text, the tagger's spans and the allowed spans of the other finder."""
        tagged = self.tagger.tag_many(texts)
        out = []
        for (own, scores), theirs in zip(tagged, self.other.find_many(texts), strict=True):
            kept = [
                d
                for d in theirs
                if d.type != "PERSON" or span_person_p(scores, d.start, d.end) >= self.min_person_p
            ]
            out.append(sorted([*own, *kept], key=lambda d: (d.start, d.end)))
        return out
