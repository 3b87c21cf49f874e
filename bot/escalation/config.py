"""Load and validate ``escalation.yml``, the one file that configures escalation triggers.

Every trigger has ``enabled`` (default ``true``) and ``priority`` (0..9, see
:data:`bot.handoff.model.MAX_PRIORITY`). Unknown keys, wrong types and bad regexes are
errors that name the file and the key, so a typo never silently disables a trigger.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.handoff.model import MAX_PRIORITY
from common.errors import ConfigError

DEFAULT_CONFIG_PATH = "escalation.yml"
CONFIG_PATH_ENV = "BOT_ESCALATION_CONFIG"
DEFAULT_ORDER_NUMBER_PATTERN = r"\b[Pp][Cc][- ]?\d{6}\b"


class EscalationConfigError(ConfigError):
    """``escalation.yml`` is missing, malformed or has an invalid value.

    Args:
        source: The file (or ``<mapping>``) being read.
        key: Dotted path of the offending key, e.g. ``triggers.low_confidence.times``.
        problem: What is wrong.
    """

    def __init__(self, source: str, key: str, problem: str) -> None:
        where = f" at '{key}'" if key else ""
        super().__init__(f"Invalid escalation config {source}{where}: {problem}")
        self.source = source
        self.key = key


@dataclass(frozen=True)
class ExplicitRequestConfig:
    """The customer asks for a person."""

    enabled: bool = True
    priority: int = 1
    intents: tuple[str, ...] = ("request_human",)


@dataclass(frozen=True)
class LowConfidenceConfig:
    """The bot did not understand ``times_in_a_row`` customer messages in a row."""

    enabled: bool = True
    priority: int = 0
    times_in_a_row: int = 2
    intents: tuple[str, ...] = ("nlu_fallback", "out_of_scope")
    confidence_below: float = 0.5


@dataclass(frozen=True)
class SentimentConfig:
    """An angry or strongly negative customer message."""

    enabled: bool = True
    priority: int = 1
    compound_threshold: float = -0.6
    cue_compound_threshold: float = 0.05
    shouting_min_words: int = 3
    shouting_ratio: float = 0.6
    anger_cues: tuple[str, ...] = ()
    sarcasm_cues: tuple[str, ...] = ()
    complaint_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class SensitiveTopic:
    """One list of sensitive keywords and regexes."""

    name: str
    priority: int
    keywords: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class SensitiveTopicsConfig:
    """Topics a person must handle."""

    enabled: bool = True
    topics: tuple[SensitiveTopic, ...] = ()


@dataclass(frozen=True)
class GenerationGuardConfig:
    """The response generator's guards rejected its draft on the bot's last turn."""

    enabled: bool = True
    priority: int = 0
    min_failures: int = 1
    ignore_failures: tuple[str, ...] = ("unavailable", "no_message")


@dataclass(frozen=True)
class KnowledgeGapConfig:
    """The bot said it did not know (a knowledge reply declined) ``times`` times.

    The first honest "I don't know" offers a person with a button; this hands over when
    the customer carries on and the bot again does not know.
    """

    enabled: bool = True
    priority: int = 0
    times: int = 2


@dataclass(frozen=True)
class RepeatedFallbackConfig:
    """The bot fell back ``times`` times since the conversation was last handed back."""

    enabled: bool = True
    priority: int = 0
    times: int = 2
    actions: tuple[str, ...] = ("action_default_fallback", "utter_default", "utter_ask_rephrase")


@dataclass(frozen=True)
class SummaryConfig:
    """How the agent's summary is built."""

    max_messages: int = 3
    max_chars: int = 160
    order_number_pattern: re.Pattern[str] = field(
        default_factory=lambda: re.compile(DEFAULT_ORDER_NUMBER_PATTERN)
    )


@dataclass(frozen=True)
class EscalationConfig:
    """Everything ``escalation.yml`` configures."""

    explicit_request: ExplicitRequestConfig = field(default_factory=ExplicitRequestConfig)
    low_confidence: LowConfidenceConfig = field(default_factory=LowConfidenceConfig)
    negative_sentiment: SentimentConfig = field(default_factory=SentimentConfig)
    sensitive_topics: SensitiveTopicsConfig = field(default_factory=SensitiveTopicsConfig)
    generation_guard: GenerationGuardConfig = field(default_factory=GenerationGuardConfig)
    knowledge_gap: KnowledgeGapConfig = field(default_factory=KnowledgeGapConfig)
    repeated_fallback: RepeatedFallbackConfig = field(default_factory=RepeatedFallbackConfig)
    summary: SummaryConfig = field(default_factory=SummaryConfig)


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The escalation config file to read.

    Args:
        path: Explicit path; else ``$BOT_ESCALATION_CONFIG``; else ``escalation.yml``.

    Returns:
        The path.
    """
    return Path(path or os.environ.get(CONFIG_PATH_ENV) or DEFAULT_CONFIG_PATH)


def load_escalation_config(path: str | os.PathLike[str] | None = None) -> EscalationConfig:
    """Read and validate an escalation config file.

    Args:
        path: The file; see :func:`config_path` for the default.

    Returns:
        The validated config.

    Raises:
        EscalationConfigError: If the file is missing, not YAML, or invalid.
    """
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise EscalationConfigError(str(file), "", f"cannot read the file ({e.strerror})") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise EscalationConfigError(str(file), "", "not valid YAML") from e
    return parse_escalation_config(data if data is not None else {}, source=str(file))


def parse_escalation_config(data: Any, *, source: str = "<mapping>") -> EscalationConfig:
    """Validate an already-parsed escalation config.

    Args:
        data: The YAML document as Python objects.
        source: Name of the source, for error messages.

    Returns:
        The validated config.

    Raises:
        EscalationConfigError: If a key is unknown or a value invalid.
    """
    r = _Reader(source)
    root = r.mapping(data, "", {"version", "triggers", "summary"})
    version = root.get("version", 1)
    if version != 1:
        raise EscalationConfigError(source, "version", f"unsupported version {version!r}")
    triggers = r.mapping(
        root.get("triggers", {}),
        "triggers",
        {
            "explicit_request",
            "low_confidence",
            "negative_sentiment",
            "sensitive_topics",
            "generation_guard",
            "knowledge_gap",
            "repeated_fallback",
        },
    )
    return EscalationConfig(
        explicit_request=_explicit(r, triggers.get("explicit_request", {})),
        low_confidence=_low_confidence(r, triggers.get("low_confidence", {})),
        negative_sentiment=_sentiment(r, triggers.get("negative_sentiment", {})),
        sensitive_topics=_sensitive(r, triggers.get("sensitive_topics", {})),
        generation_guard=_guard(r, triggers.get("generation_guard", {})),
        knowledge_gap=_knowledge_gap(r, triggers.get("knowledge_gap", {})),
        repeated_fallback=_fallback(r, triggers.get("repeated_fallback", {})),
        summary=_summary(r, root.get("summary", {})),
    )


def _explicit(r: _Reader, data: Any) -> ExplicitRequestConfig:
    key = "triggers.explicit_request"
    d = r.mapping(data, key, {"enabled", "priority", "intents"})
    default = ExplicitRequestConfig()
    return ExplicitRequestConfig(
        enabled=r.boolean(d, key, "enabled", default.enabled),
        priority=r.priority(d, key, default.priority),
        intents=r.strings(d, key, "intents", default.intents, non_empty=True),
    )


def _low_confidence(r: _Reader, data: Any) -> LowConfidenceConfig:
    key = "triggers.low_confidence"
    d = r.mapping(
        data, key, {"enabled", "priority", "times_in_a_row", "intents", "confidence_below"}
    )
    default = LowConfidenceConfig()
    return LowConfidenceConfig(
        enabled=r.boolean(d, key, "enabled", default.enabled),
        priority=r.priority(d, key, default.priority),
        times_in_a_row=r.integer(d, key, "times_in_a_row", default.times_in_a_row, minimum=1),
        intents=r.strings(d, key, "intents", default.intents),
        confidence_below=r.number(
            d, key, "confidence_below", default.confidence_below, low=0.0, high=1.0
        ),
    )


def _sentiment(r: _Reader, data: Any) -> SentimentConfig:
    key = "triggers.negative_sentiment"
    d = r.mapping(
        data,
        key,
        {
            "enabled",
            "priority",
            "compound_threshold",
            "cue_compound_threshold",
            "shouting_min_words",
            "shouting_ratio",
            "anger_cues",
            "sarcasm_cues",
            "complaint_words",
        },
    )
    default = SentimentConfig()
    return SentimentConfig(
        enabled=r.boolean(d, key, "enabled", default.enabled),
        priority=r.priority(d, key, default.priority),
        compound_threshold=r.number(
            d, key, "compound_threshold", default.compound_threshold, low=-1.0, high=1.0
        ),
        cue_compound_threshold=r.number(
            d, key, "cue_compound_threshold", default.cue_compound_threshold, low=-1.0, high=1.0
        ),
        shouting_min_words=r.integer(
            d, key, "shouting_min_words", default.shouting_min_words, minimum=1
        ),
        shouting_ratio=r.number(
            d, key, "shouting_ratio", default.shouting_ratio, low=0.0, high=1.0
        ),
        anger_cues=tuple(c.lower() for c in r.strings(d, key, "anger_cues", ())),
        sarcasm_cues=tuple(c.lower() for c in r.strings(d, key, "sarcasm_cues", ())),
        complaint_words=tuple(c.lower() for c in r.strings(d, key, "complaint_words", ())),
    )


def _sensitive(r: _Reader, data: Any) -> SensitiveTopicsConfig:
    key = "triggers.sensitive_topics"
    d = r.mapping(data, key, {"enabled", "topics"})
    topics_data = r.mapping(d.get("topics", {}), f"{key}.topics", None)
    topics = []
    for name, spec in topics_data.items():
        tkey = f"{key}.topics.{name}"
        t = r.mapping(spec, tkey, {"priority", "keywords", "patterns"})
        keywords = tuple(k.lower() for k in r.strings(t, tkey, "keywords", ()))
        patterns = tuple(r.regex(p, f"{tkey}.patterns") for p in r.strings(t, tkey, "patterns", ()))
        if not keywords and not patterns:
            raise EscalationConfigError(r.source, tkey, "needs at least one keyword or pattern")
        topics.append(
            SensitiveTopic(str(name), r.priority(t, tkey, 1), keywords=keywords, patterns=patterns)
        )
    return SensitiveTopicsConfig(enabled=r.boolean(d, key, "enabled", True), topics=tuple(topics))


def _guard(r: _Reader, data: Any) -> GenerationGuardConfig:
    key = "triggers.generation_guard"
    d = r.mapping(data, key, {"enabled", "priority", "min_failures", "ignore_failures"})
    default = GenerationGuardConfig()
    return GenerationGuardConfig(
        enabled=r.boolean(d, key, "enabled", default.enabled),
        priority=r.priority(d, key, default.priority),
        min_failures=r.integer(d, key, "min_failures", default.min_failures, minimum=1),
        ignore_failures=r.strings(d, key, "ignore_failures", default.ignore_failures),
    )


def _knowledge_gap(r: _Reader, data: Any) -> KnowledgeGapConfig:
    key = "triggers.knowledge_gap"
    d = r.mapping(data, key, {"enabled", "priority", "times"})
    default = KnowledgeGapConfig()
    return KnowledgeGapConfig(
        enabled=r.boolean(d, key, "enabled", default.enabled),
        priority=r.priority(d, key, default.priority),
        times=r.integer(d, key, "times", default.times, minimum=1),
    )


def _fallback(r: _Reader, data: Any) -> RepeatedFallbackConfig:
    key = "triggers.repeated_fallback"
    d = r.mapping(data, key, {"enabled", "priority", "times", "actions"})
    default = RepeatedFallbackConfig()
    return RepeatedFallbackConfig(
        enabled=r.boolean(d, key, "enabled", default.enabled),
        priority=r.priority(d, key, default.priority),
        times=r.integer(d, key, "times", default.times, minimum=1),
        actions=r.strings(d, key, "actions", default.actions, non_empty=True),
    )


def _summary(r: _Reader, data: Any) -> SummaryConfig:
    key = "summary"
    d = r.mapping(data, key, {"max_messages", "max_chars", "order_number_pattern"})
    default = SummaryConfig()
    pattern = d.get("order_number_pattern", DEFAULT_ORDER_NUMBER_PATTERN)
    if not isinstance(pattern, str):
        raise EscalationConfigError(r.source, f"{key}.order_number_pattern", "must be a string")
    return SummaryConfig(
        max_messages=r.integer(d, key, "max_messages", default.max_messages, minimum=1),
        max_chars=r.integer(d, key, "max_chars", default.max_chars, minimum=20),
        order_number_pattern=r.regex(pattern, f"{key}.order_number_pattern"),
    )


class _Reader:
    """Typed accessors that raise :class:`EscalationConfigError` naming the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> EscalationConfigError:
        return EscalationConfigError(self.source, key, problem)

    def mapping(self, data: Any, key: str, allowed: set[str] | None) -> Mapping[str, Any]:
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            raise self.fail(key, "must be a mapping")
        if allowed is not None:
            unknown = sorted(str(k) for k in data if k not in allowed)
            if unknown:
                raise self.fail(key, f"unknown keys {unknown}; allowed: {sorted(allowed)}")
        return data

    def boolean(self, d: Mapping[str, Any], key: str, name: str, default: bool) -> bool:
        value = d.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(f"{key}.{name}", "must be true or false")
        return value

    def integer(
        self, d: Mapping[str, Any], key: str, name: str, default: int, *, minimum: int
    ) -> int:
        value = d.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{key}.{name}", "must be an integer")
        if value < minimum:
            raise self.fail(f"{key}.{name}", f"must be at least {minimum}")
        return value

    def number(
        self, d: Mapping[str, Any], key: str, name: str, default: float, *, low: float, high: float
    ) -> float:
        value = d.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{key}.{name}", "must be a number")
        if not low <= value <= high:
            raise self.fail(f"{key}.{name}", f"must be between {low} and {high}")
        return float(value)

    def priority(self, d: Mapping[str, Any], key: str, default: int) -> int:
        value = d.get("priority", default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{key}.priority", "must be an integer")
        if not 0 <= value <= MAX_PRIORITY:
            raise self.fail(f"{key}.priority", f"must be between 0 and {MAX_PRIORITY}")
        return value

    def strings(
        self,
        d: Mapping[str, Any],
        key: str,
        name: str,
        default: tuple[str, ...],
        *,
        non_empty: bool = False,
    ) -> tuple[str, ...]:
        value = d.get(name, default)
        if value is None:
            value = ()
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            raise self.fail(f"{key}.{name}", "must be a list of non-empty strings")
        if non_empty and not value:
            raise self.fail(f"{key}.{name}", "must not be empty")
        return tuple(v.strip() for v in value)

    def regex(self, pattern: str, key: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern, re.IGNORECASE)
        except re.error as e:
            raise self.fail(key, f"invalid regex ({e})") from e
