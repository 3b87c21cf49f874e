"""Checks on a generated reply before it may reach a customer.

Each guard returns failure codes; an empty list means the reply may go out. The codes
(``pii:EMAIL``, ``placeholder``, ``too_short``, ``too_long``, ``forbidden:refund_amount``,
``low_logprob``, ``empty``, ``degenerate``, ``repetitive``) travel in the response's
``generation`` metadata, where the escalation logic treats any failure as a trigger.

* **PII**: the project's own detectors (:mod:`common.privacy`) run on the reply; values
  that the customer wrote themselves (their order number, their email) and configured
  examples (``PC-123456``) are allowed, anything else is a leak or a hallucination.
* **Placeholders**: ``{{Order Number}}``, ``{order_id}``, ``[ORDER_1]``, ``<NAME>``: the
  redacted training data's placeholders must never be sent.
* **Length** bounds in characters.
* **Forbidden promises**: configurable regular expressions (refund amounts, legal
  statements, guarantees).
* **Low mean token log-probability**: the model was unsure.
* **Empty, degenerate or repetitive** output.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from common.errors import ConfigError
from common.privacy import PiiType, RedactionConfig, Redactor, find_placeholders

logger = logging.getLogger(__name__)

DEFAULT_FORBIDDEN: Mapping[str, str] = {
    "refund_amount": (
        r"(?i)\b(?:we(?:'ll| will)|i(?:'ll| will)|going to)\s+(?:\w+\s+){0,3}"
        r"(?:refund|reimburse|credit|compensate)\w*\b[^.!?\n]{0,40}?"
        r"(?:[$€£]\s?\d|\d+(?:[.,]\d+)?\s?(?:eur|usd|gbp|euros?|dollars?|pounds?)\b)"
    ),
    "money_promise": (
        r"(?i)\b(?:we(?:'ll| will)|i(?:'ll| will))\s+(?:\w+\s+){0,3}"
        r"(?:pay|send)\s+you\s+[$€£]?\s?\d"
    ),
    "guarantee": r"(?i)\b(?:i|we)\s+(?:can\s+)?(?:guarantee|promise)\b|\bguaranteed\b",
    "legal": (
        r"(?i)\b(?:legally|liable|liability|lawsuit|sue\b|court|attorney|lawyer|"
        r"legal advice|consumer rights? (?:law|act))"
    ),
}
"""Promises a bot must not make, by name; override with the ``forbidden_patterns`` option."""

SINGLE_BRACE_RE = re.compile(r"\{[A-Za-z_][\w ]{0,40}\}")
DEFAULT_PII_TYPES: tuple[PiiType, ...] = (
    "EMAIL",
    "PHONE",
    "CARD",
    "IBAN",
    "ORDER_ID",
    "ACCOUNT_ID",
    "URL",
)


@dataclass(frozen=True)
class GuardConfig:
    """Guardrail settings.

    Attributes:
        min_chars: Shortest acceptable reply.
        max_chars: Longest acceptable reply.
        min_mean_logprob: Lowest acceptable mean log-probability per generated token.
        forbidden_patterns: Name to regular expression; a match fails the reply.
        pii_types: PII types that must not appear (``PERSON`` loads spaCy; off by default).
        allowed_values: PII-looking values that are fine anywhere (documented examples).
        max_repeated_ngram_ratio: Highest share of repeated word 3-grams.
        min_distinct_word_ratio: Lowest share of distinct words (for replies of 8+ words).
        grounded_min_score: When the best past reply answered a question at least this
            similar, the reply must stay close to it ...
        min_grounded_similarity: ... with at least this cosine similarity, else it fails
            as ``off_grounding`` (the model drifted from what the company says).
    """

    min_chars: int = 8
    max_chars: int = 700
    min_mean_logprob: float = -2.5
    forbidden_patterns: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_FORBIDDEN))
    pii_types: tuple[str, ...] = DEFAULT_PII_TYPES
    allowed_values: tuple[str, ...] = ("PC-123456",)
    max_repeated_ngram_ratio: float = 0.3
    min_distinct_word_ratio: float = 0.35
    grounded_min_score: float = 0.75
    min_grounded_similarity: float = 0.45

    def __post_init__(self) -> None:
        if self.min_chars < 0 or self.max_chars <= self.min_chars:
            raise ConfigError("guardrails: need 0 <= min_chars < max_chars")
        for name, pattern in self.forbidden_patterns.items():
            try:
                re.compile(pattern)
            except re.error as e:
                raise ConfigError(f"guardrails: pattern '{name}' is invalid ({e})") from e


class Guardrails:
    """Runs every guard over a reply.

    Args:
        config: The settings.
        redactor: PII detection; default: the project's detectors for ``config.pii_types``.
    """

    def __init__(self, config: GuardConfig | None = None, redactor: Redactor | None = None):
        self.config = config or GuardConfig()
        self._redactor = redactor
        self._forbidden = {n: re.compile(p) for n, p in self.config.forbidden_patterns.items()}

    @cached_property
    def redactor(self) -> Redactor:
        """The PII detector (built on first use)."""
        if self._redactor is None:
            self._redactor = Redactor(RedactionConfig(types=frozenset(self.config.pii_types)))
        return self._redactor

    def check(
        self,
        text: str,
        mean_logprob: float | None = None,
        customer_texts: Sequence[str] = (),
    ) -> list[str]:
        """Return the failure codes for a reply; empty when it may be sent.

        Args:
            text: The generated reply.
            mean_logprob: Its mean token log-probability, if known.
            customer_texts: What the customer wrote in this conversation; PII values
                found there may be repeated back.

        Returns:
            Failure codes, in a stable order.
        """
        stripped = text.strip()
        if not stripped:
            return ["empty"]
        failures = []
        failures += self.pii(stripped, customer_texts)
        failures += self.placeholders(stripped)
        failures += self.length(stripped)
        failures += self.forbidden(stripped)
        failures += self.confidence(mean_logprob)
        failures += self.degeneration(stripped)
        if failures:
            logger.info("Generated reply failed guards: %s", ", ".join(failures))
        return failures

    def pii(self, text: str, customer_texts: Sequence[str] = ()) -> list[str]:
        """Flag PII in the reply that the customer did not write themselves."""
        if not self.config.pii_types:
            return []
        allowed = {v.lower() for v in self.config.allowed_values}
        said = " ".join(customer_texts).lower()
        found = set()
        for detection in self.redactor.detect(text):
            value = text[detection.start : detection.end].strip().lower()
            if value in allowed or (value and value in said):
                continue
            found.add(f"pii:{detection.type}")
        return sorted(found)

    @staticmethod
    def placeholders(text: str) -> list[str]:
        """Flag template or redaction placeholders (``{{x}}``, ``{x}``, ``[ORDER_1]``)."""
        if find_placeholders(text) or SINGLE_BRACE_RE.search(text):
            return ["placeholder"]
        return []

    def length(self, text: str) -> list[str]:
        """Flag replies outside the configured length bounds."""
        if len(text) < self.config.min_chars:
            return ["too_short"]
        if len(text) > self.config.max_chars:
            return ["too_long"]
        return []

    def forbidden(self, text: str) -> list[str]:
        """Flag forbidden promises, by pattern name."""
        return [f"forbidden:{name}" for name, rx in self._forbidden.items() if rx.search(text)]

    def confidence(self, mean_logprob: float | None) -> list[str]:
        """Flag a mean token log-probability below the floor (or not a number)."""
        if mean_logprob is None:
            return []
        if math.isnan(mean_logprob) or mean_logprob < self.config.min_mean_logprob:
            return ["low_logprob"]
        return []

    def degeneration(self, text: str) -> list[str]:
        """Flag text that is not language or that loops."""
        letters = sum(c.isalpha() for c in text)
        if letters < 0.5 * len(text.replace(" ", "")):
            return ["degenerate"]
        words = re.findall(r"\w+", text.lower())
        if re.search(r"(.)\1{9,}", text) or re.search(r"\b(\w+)(?:\W+\1\b){3,}", text.lower()):
            return ["repetitive"]
        if len(words) >= 8:
            if len(set(words)) / len(words) < self.config.min_distinct_word_ratio:
                return ["repetitive"]
            grams = Counter(zip(words, words[1:], words[2:], strict=False))
            repeated = sum(n - 1 for n in grams.values() if n > 1)
            if repeated / max(len(words) - 2, 1) > self.config.max_repeated_ngram_ratio:
                return ["repetitive"]
        return []
