"""PII redaction for transcripts: typed, per-conversation placeholders such as ``[EMAIL_1]``.

Example:
    >>> from common.privacy import Redactor, PlaceholderSession
    >>> redactor = Redactor()
    >>> session = PlaceholderSession()
    >>> redactor.redact("Hi, I'm Anna Schmidt, anna@example.com", session).text
    "Hi, I'm [PERSON_1], [EMAIL_1]"

"""

from common.privacy.detectors import (
    ALL_TYPES,
    Detection,
    Detector,
    PiiType,
    find_placeholders,
    iban_valid,
    luhn_valid,
    url_has_secret,
)
from common.privacy.names import NameFinder, SpacyNameFinder, find_model_path
from common.privacy.pseudonyms import PseudonymSession
from common.privacy.redactor import (
    REPLACEMENTS,
    TYPE_PRIORITY,
    PiiSpan,
    PlaceholderSession,
    RedactionConfig,
    RedactionResult,
    Redactor,
    ReplacementSession,
    resolve_overlaps,
)

__all__ = [
    "ALL_TYPES",
    "REPLACEMENTS",
    "TYPE_PRIORITY",
    "Detection",
    "Detector",
    "NameFinder",
    "PiiSpan",
    "PiiType",
    "PlaceholderSession",
    "PseudonymSession",
    "RedactionConfig",
    "RedactionResult",
    "Redactor",
    "ReplacementSession",
    "SpacyNameFinder",
    "find_model_path",
    "find_placeholders",
    "iban_valid",
    "luhn_valid",
    "resolve_overlaps",
    "url_has_secret",
]
