"""Replace PII with typed, per-conversation placeholders such as ``[EMAIL_1]``.

:class:`Redactor` runs the rule-based detectors and the name finder, resolves overlaps
(longest span first, then a fixed type priority) and substitutes placeholders numbered by a
:class:`PlaceholderSession`. Results keep each span's type, offsets and placeholder, never
the original value; logs carry counts per type only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import phonenumbers

from common.errors import ConfigError
from common.precision import validate_precision
from common.privacy.detectors import (
    ADDRESS_PATTERNS,
    ALL_TYPES,
    DEFAULT_PHONE_REGIONS,
    LENIENCY_NAMES,
    AddressDetector,
    CardDetector,
    Detection,
    Detector,
    EmailDetector,
    IbanDetector,
    PatternDetector,
    PhoneDetector,
    PiiType,
    TokenUrlDetector,
    find_placeholders,
    numbered_placeholders,
)
from common.privacy.name_vote import DEFAULT_MIN_PERSON_P, VetoedNameFinder
from common.privacy.names import NameFinder, SpacyNameFinder, UnionNameFinder
from common.privacy.pseudonyms import PseudonymSession, make_faker
from common.privacy.tagger import MiniLMNameFinder

logger = logging.getLogger(__name__)

# Breaks ties between spans of equal length: the more specific, checksummed type wins.
TYPE_PRIORITY: tuple[PiiType, ...] = (
    "EMAIL",
    "URL",
    "IBAN",
    "CARD",
    "ACCOUNT_ID",
    "ORDER_ID",
    "PHONE",
    "ADDRESS",
    "PERSON",
)


REPLACEMENTS: tuple[str, ...] = ("placeholder", "pseudonym")
# Name finders: spaCy NER with cues and vetoes, the MiniLM tagger, both (union), or the
# tagger's spans with the spaCy spans the tagger does not rule out (vote).
NAME_FINDERS: tuple[str, ...] = ("spacy", "minilm", "both", "vote")
TAGGER_TYPES: tuple[str, ...] = ("PERSON", "ADDRESS")


class ReplacementSession(Protocol):
    """Turns a conversation's PII values into replacements, consistently.

    :class:`PlaceholderSession` gives ``[EMAIL_1]``; :class:`PseudonymSession` a fake value.
    """

    def placeholder(self, pii_type: str, value: str, surface: str = "") -> str:
        """Return the replacement of a normalised value (``surface``: as written)."""
        ...

    def reserve(self, pii_type: str, number: int) -> None:
        """Note a ``[TYPE_number]`` placeholder already in the text."""
        ...


@dataclass(frozen=True)
class RedactionConfig:
    """What to redact and how.

    Attributes:
        types: PII types to redact; the others are left in the text.
        phone_regions: Default regions for national phone numbers (ISO 3166 alpha-2).
        phone_leniency: libphonenumber leniency: ``POSSIBLE``, ``VALID`` (default),
            ``STRICT_GROUPING`` or ``EXACT_GROUPING``.
        phone_international_possible: Also keep numbers written with ``+``/``00`` that are
            only *possible* (see :class:`~common.privacy.detectors.PhoneDetector`).
        order_patterns: Regular expressions for order numbers (ORDER_ID).
        account_patterns: Regular expressions for account numbers (ACCOUNT_ID).
        address_patterns: Regular expressions for postal addresses (ADDRESS).
        name_denylist: Company and product names that NER must not take for people.
        name_proper_noun_fallback: Also take proper nouns the NER missed (loads the
            tagger; see :func:`~common.privacy.names.proper_noun_names`).
        ner_batch_size: Texts per spaCy batch in :meth:`Redactor.redact_many`.
        replacement: ``placeholder`` (default: ``[EMAIL_1]``) or ``pseudonym``
            (consistent fake values per conversation, see
            :class:`~common.privacy.pseudonyms.PseudonymSession`).
        pseudonym_locale: Faker locale of the fake names and addresses.
        names: How person names are found: ``spacy`` (NER, cues and vetoes), ``minilm``
            (the MiniLM tagger trained by ``python -m training pii-ner``), ``both``
            (the union of the two) or ``vote`` (the tagger's spans, and spaCy's where the
            tagger gives the name a probability of at least ``name_min_person_p``; see
            :class:`~common.privacy.name_vote.VetoedNameFinder`).
        name_model_dir: Where the MiniLM tagger is saved; empty: ``.cache/pii-ner``.
        tagger_types: Which of the tagger's types are used (default both: ``PERSON``,
            and ``ADDRESS``, whose spans join the regular expressions').
        name_min_person_p: With ``names: vote``, the least tagger probability that keeps
            one of spaCy's names.
        tagger_precision: The tagger's weights: ``auto`` (bfloat16 where the CPU computes
            in it natively, else float32), ``fp32`` or ``bf16``.

    """

    types: frozenset[str] = frozenset(ALL_TYPES)
    phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
    phone_leniency: str = "VALID"
    phone_international_possible: bool = True
    order_patterns: tuple[str, ...] = (r"(?i)(?<![\w-])PC[- ]?\d{6}(?!\d)",)
    account_patterns: tuple[str, ...] = (r"(?i)(?<![\w-])ACC[- ]?\d{6,10}(?!\d)",)
    address_patterns: tuple[str, ...] = ADDRESS_PATTERNS
    name_denylist: tuple[str, ...] = ("Pinecrest",)
    name_proper_noun_fallback: bool = True
    ner_batch_size: int = 64
    replacement: str = "placeholder"
    pseudonym_locale: str = "en_GB"
    names: str = "spacy"
    name_model_dir: str = ""
    tagger_types: tuple[str, ...] = ("PERSON", "ADDRESS")
    name_min_person_p: float = DEFAULT_MIN_PERSON_P
    tagger_precision: str = "auto"

    def __post_init__(self) -> None:
        unknown = set(self.types) - set(ALL_TYPES)
        if unknown:
            raise ConfigError(f"unknown PII types {sorted(unknown)}; known: {list(ALL_TYPES)}")
        bad_regions = set(self.phone_regions) - phonenumbers.SUPPORTED_REGIONS
        if bad_regions:
            raise ConfigError(f"unknown phone regions {sorted(bad_regions)}")
        if self.phone_leniency not in LENIENCY_NAMES:
            raise ConfigError(f"phone_leniency must be one of {list(LENIENCY_NAMES)}")
        if self.ner_batch_size < 1:
            raise ConfigError("ner_batch_size must be at least 1")
        if self.replacement not in REPLACEMENTS:
            raise ConfigError(f"replacement must be one of {list(REPLACEMENTS)}")
        if self.names not in NAME_FINDERS:
            raise ConfigError(f"names must be one of {list(NAME_FINDERS)}")
        validate_precision(self.tagger_precision)
        if not 0.0 <= self.name_min_person_p <= 1.0:
            raise ConfigError("name_min_person_p must be between 0 and 1")
        if not self.tagger_types or set(self.tagger_types) - set(TAGGER_TYPES):
            raise ConfigError(f"tagger_types must be some of {list(TAGGER_TYPES)}")
        if self.replacement == "pseudonym":
            make_faker(self.pseudonym_locale)  # raises on an unknown locale
        for name in ("order_patterns", "account_patterns", "address_patterns"):
            for pattern in getattr(self, name):
                try:
                    re.compile(pattern)
                except re.error as e:
                    raise ConfigError(f"{name}: invalid regular expression ({e})") from e

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RedactionConfig:
        """Build a config from a mapping (e.g. a YAML section), validating it.

        Lists become tuples; ``types`` may be any iterable of type names.

        Args:
            data: Keys are the attribute names; missing keys keep their defaults.

        Returns:
            The config.

        Raises:
            ConfigError: On an unknown key or an invalid value.

        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown redaction settings {sorted(unknown)}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "types":
                values[key] = frozenset(str(v).upper() for v in value)
            elif key == "phone_leniency":
                values[key] = str(value).upper()
            elif key in (
                "replacement",
                "pseudonym_locale",
                "names",
                "name_model_dir",
                "tagger_precision",
            ):
                if not isinstance(value, str):
                    raise ConfigError(f"{key} must be a string")
                values[key] = value
            elif key in ("phone_international_possible", "name_proper_noun_fallback"):
                if not isinstance(value, bool):
                    raise ConfigError(f"{key} must be true or false")
                values[key] = value
            elif key == "name_min_person_p":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ConfigError(f"{key} must be a number")
                values[key] = float(value)
            elif key == "ner_batch_size":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ConfigError(f"{key} must be an integer")
                values[key] = value
            elif isinstance(value, str):
                values[key] = (value,)
            else:
                values[key] = tuple(str(v) for v in value)
        return cls(**values)


@dataclass(frozen=True)
class PiiSpan:
    """One redacted span. The original value is deliberately not kept.

    Attributes:
        type: The PII type.
        start: Offset of the span in the original text.
        end: Offset one past the span in the original text.
        placeholder: What replaced it, e.g. ``[PHONE_2]``.

    """

    type: str
    start: int
    end: int
    placeholder: str


@dataclass(frozen=True)
class RedactionResult:
    """A redacted text and what was replaced.

    Attributes:
        text: The redacted text.
        spans: The replaced spans, in order, with offsets into the original text.

    """

    text: str
    spans: tuple[PiiSpan, ...] = ()

    def counts(self) -> dict[str, int]:
        """Return the number of spans per type."""
        return dict(Counter(s.type for s in self.spans))


class PlaceholderSession:
    """Numbers placeholders within one conversation: same value, same placeholder.

    Values are remembered only as keyed hashes (HMAC-SHA256 under a random per-session
    key), so a session holds no PII and its hashes cannot be matched across sessions.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._numbers: dict[bytes, int] = {}
        self._counters: Counter[str] = Counter()

    def placeholder(self, pii_type: str, value: str, surface: str = "") -> str:
        """Return the placeholder for a (normalised) value, numbering new values.

        Args:
            pii_type: The PII type, e.g. ``EMAIL``.
            value: The value, normalised so that equal values compare equal.
            surface: The value as written (unused here; pseudonyms take its shape).

        Returns:
            The placeholder, e.g. ``[EMAIL_1]``.

        """
        digest = hmac.new(self._key, f"{pii_type}\0{value}".encode(), hashlib.sha256).digest()
        number = self._numbers.get(digest)
        if number is None:
            self._counters[pii_type] += 1
            number = self._numbers[digest] = self._counters[pii_type]
        return f"[{pii_type}_{number}]"

    def reserve(self, pii_type: str, number: int) -> None:
        """Make sure new placeholders of ``pii_type`` number above ``number``.

        Used when a text already holds ``[EMAIL_1]``, so that a new email is not also
        called ``[EMAIL_1]``.
        """
        if self._counters[pii_type] < number:
            self._counters[pii_type] = number


def resolve_overlaps(
    detections: Iterable[Detection], protected: Sequence[tuple[int, int]] = ()
) -> list[Detection]:
    """Pick non-overlapping spans: longest first, then by :data:`TYPE_PRIORITY`.

    Args:
        detections: Candidate spans, possibly overlapping.
        protected: Spans that no detection may touch (existing placeholders).

    Returns:
        The kept detections, sorted by start offset.

    """
    rank = {t: i for i, t in enumerate(TYPE_PRIORITY)}
    taken: list[tuple[int, int]] = list(protected)
    kept: list[Detection] = []
    for d in sorted(detections, key=lambda d: (-len(d), rank[d.type], d.start)):
        if d.end <= d.start or any(d.start < e and s < d.end for s, e in taken):
            continue
        kept.append(d)
        taken.append((d.start, d.end))
    return sorted(kept, key=lambda d: d.start)


class Redactor:
    """Finds PII and replaces it with placeholders.

    Args:
        config: What to redact; default: everything, with the default settings.
        name_finder: Finds PERSON spans; default: as ``config.names`` says (loaded lazily,
            only if PERSON is enabled). Tests pass a fake.

    Raises:
        ModelNotTrainedError: When ``config.names`` needs the MiniLM tagger and it has not
            been trained (the message gives the command).

    Example:
        >>> redactor = Redactor(RedactionConfig(types=frozenset({"EMAIL"})))
        >>> redactor.redact("mail a@example.com").text
        'mail [EMAIL_1]'

    """

    def __init__(
        self, config: RedactionConfig | None = None, name_finder: NameFinder | None = None
    ) -> None:
        self.config = config or RedactionConfig()
        self._detectors = self._build_detectors(self.config)
        self._names: NameFinder | None = None
        if "PERSON" in self.config.types:
            self._names = name_finder or self._build_name_finder(self.config)

    @staticmethod
    def _build_name_finder(config: RedactionConfig) -> NameFinder:
        spacy = SpacyNameFinder(
            denylist=config.name_denylist,
            batch_size=config.ner_batch_size,
            proper_noun_fallback=config.name_proper_noun_fallback,
        )
        if config.names == "spacy":
            return spacy
        tagger = MiniLMNameFinder(
            Path(config.name_model_dir) if config.name_model_dir else None,
            types=[t for t in config.tagger_types if t in config.types],
            denylist=config.name_denylist,
            precision=config.tagger_precision,
        )
        tagger.check()
        if config.names == "vote":
            return VetoedNameFinder(spacy, tagger, config.name_min_person_p)
        return tagger if config.names == "minilm" else UnionNameFinder((spacy, tagger))

    @staticmethod
    def _build_detectors(config: RedactionConfig) -> list[Detector]:
        candidates: list[tuple[str, Detector]] = [
            ("EMAIL", EmailDetector()),
            (
                "PHONE",
                PhoneDetector(
                    config.phone_regions,
                    config.phone_leniency,
                    config.phone_international_possible,
                ),
            ),
            ("CARD", CardDetector()),
            ("IBAN", IbanDetector()),
            ("ORDER_ID", PatternDetector("ORDER_ID", config.order_patterns)),
            ("ACCOUNT_ID", PatternDetector("ACCOUNT_ID", config.account_patterns)),
            ("URL", TokenUrlDetector()),
            ("ADDRESS", AddressDetector(config.address_patterns)),
        ]
        return [d for pii_type, d in candidates if pii_type in config.types]

    def new_session(self) -> ReplacementSession:
        """Return a fresh session for one conversation, as the config's ``replacement`` says."""
        if self.config.replacement == "pseudonym":
            return PseudonymSession(self.config.pseudonym_locale)
        return PlaceholderSession()

    def detect(self, text: str) -> list[Detection]:
        """Return the PII spans that :meth:`redact` would replace (overlaps resolved)."""
        return self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[str]) -> list[list[Detection]]:
        """Return the resolved PII spans of each text, running NER in batches."""
        names = self._names.find_many(texts) if self._names else [[] for _ in texts]
        result = []
        for text, persons in zip(texts, names, strict=True):
            found = [d for detector in self._detectors for d in detector.detect(text)]
            found += [d for d in persons if d.type in self.config.types]
            result.append(resolve_overlaps(found, find_placeholders(text)))
        return result

    def redact(self, text: str, session: ReplacementSession | None = None) -> RedactionResult:
        """Redact one text.

        Args:
            text: The text.
            session: The conversation's numbering; default: a fresh one for this text.

        Returns:
            The redacted text and its spans.

        """
        return self.redact_many([text], session)[0]

    def redact_many(
        self, texts: Iterable[str], session: ReplacementSession | None = None
    ) -> list[RedactionResult]:
        """Redact many texts, batching NER through ``nlp.pipe``.

        Args:
            texts: The texts, in conversation order when ``session`` is given.
            session: Shared numbering (one conversation); default: a fresh session per
                text, so that unrelated texts are not linked by their placeholders.

        Returns:
            One result per text, in order.

        """
        batch = list(texts)
        results = [
            self._substitute(text, found, session if session is not None else self.new_session())
            for text, found in zip(batch, self.detect_many(batch), strict=True)
        ]
        totals: Counter[str] = Counter()
        for r in results:
            totals.update(s.type for s in r.spans)
        logger.debug("redacted %d texts: %s", len(results), dict(sorted(totals.items())))
        return results

    @staticmethod
    def _substitute(
        text: str, found: Sequence[Detection], session: ReplacementSession
    ) -> RedactionResult:
        for pii_type, number in numbered_placeholders(text):
            session.reserve(pii_type, number)
        parts: list[str] = []
        spans: list[PiiSpan] = []
        pos = 0
        for d in found:
            key = d.key or " ".join(text[d.start : d.end].casefold().split())
            placeholder = session.placeholder(d.type, key, text[d.start : d.end])
            parts += [text[pos : d.start], placeholder]
            spans.append(PiiSpan(d.type, d.start, d.end, placeholder))
            pos = d.end
        parts.append(text[pos:])
        return RedactionResult("".join(parts), tuple(spans))
