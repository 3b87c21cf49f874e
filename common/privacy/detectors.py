"""Rule-based PII detectors: regular expressions backed by checksums where one exists.

Each detector is a small class with ``detect(text) -> list[Detection]``. They know nothing
of placeholders or overlap; :mod:`common.privacy.redactor` combines them. A
:class:`Detection` holds a normalised copy of the value (``key``) so that the redactor can
number equal values alike; it is never part of a redaction result and never logged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import parse_qsl, urlsplit

import phonenumbers

PiiType = Literal[
    "EMAIL", "PHONE", "CARD", "IBAN", "ORDER_ID", "ACCOUNT_ID", "URL", "ADDRESS", "PERSON"
]
ALL_TYPES: tuple[PiiType, ...] = (
    "EMAIL",
    "PHONE",
    "CARD",
    "IBAN",
    "ORDER_ID",
    "ACCOUNT_ID",
    "URL",
    "ADDRESS",
    "PERSON",
)


@dataclass(frozen=True)
class Detection:
    """A span of PII found in a text.

    Attributes:
        type: The PII type.
        start: Offset of the first character.
        end: Offset one past the last character.
        key: The value normalised for numbering (lower-cased email, E.164 phone...).
            Kept out of ``repr`` so that it cannot leak into a log line.

    """

    type: PiiType
    start: int
    end: int
    key: str = field(default="", repr=False, compare=False)

    def __len__(self) -> int:
        return self.end - self.start


class Detector(Protocol):
    """Finds one kind of PII in a text."""

    def detect(self, text: str) -> list[Detection]:
        """Return the spans found in ``text``."""
        ...


# ---------------------------------------------------------------------------------------
# Placeholders already in the text
# ---------------------------------------------------------------------------------------

PLACEHOLDER_RE = re.compile(
    r"\{\{[^{}\n]{1,60}\}\}|\[[A-Z][A-Z_]{1,30}(?:_\d{1,6})?\]|<[A-Z_]{3,30}>"
)
_NUMBERED_PLACEHOLDER_RE = re.compile(r"\[([A-Z][A-Z_]*?)_(\d{1,6})\]")


def find_placeholders(text: str) -> list[tuple[int, int]]:
    """Return the spans of placeholders already present (``{{Order Number}}``, ``[EMAIL_1]``).

    Args:
        text: The text to scan.

    Returns:
        ``(start, end)`` pairs; redaction leaves these spans untouched.

    """
    return [m.span() for m in PLACEHOLDER_RE.finditer(text)]


def numbered_placeholders(text: str) -> Iterable[tuple[str, int]]:
    """Yield ``(type, number)`` for each ``[TYPE_N]`` placeholder in ``text``."""
    for m in _NUMBERED_PLACEHOLDER_RE.finditer(text):
        yield m.group(1), int(m.group(2))


# ---------------------------------------------------------------------------------------
# Checksums
# ---------------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """Check a number with the Luhn algorithm (card numbers).

    Args:
        digits: The number; spaces and dashes are ignored.

    Returns:
        True if the checksum holds. Non-digit input is never valid.

    """
    digits = digits.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Lengths from the SWIFT IBAN registry.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_valid(candidate: str) -> bool:
    """Check an IBAN: its country's length (where known) and the ISO 13616 mod-97 checksum.

    Args:
        candidate: The IBAN, with or without spaces, any letter case.

    Returns:
        True if the IBAN is well formed and its checksum holds.

    """
    iban = candidate.replace(" ", "").upper()
    if not (15 <= len(iban) <= 34 and iban.isascii() and iban.isalnum()):
        return False
    if not (iban[:2].isalpha() and iban[2:4].isdigit()):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


# ---------------------------------------------------------------------------------------
# Emails
# ---------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)


# Addresses written to dodge scrapers: "jane dot doe at example dot com",
# "j.doe [at] example [dot] org", "jdoe (at) example.net". An "at" in brackets is always
# an email's; a bare "at" only when the domain spells a dot out ("example dot com") or the
# local part looks like one ("j.doe", "jdoe84"), so "look at google.com" is not an email.
_OB_WORD = r"[A-Za-z0-9](?:[A-Za-z0-9_%+-]{0,62}[A-Za-z0-9])?"
_OB_DOT = r"(?:\s*[\[(<{]\s*dot\s*[\])>}]\s*|\s+dot\s+|\.)"
_OB_AT = r"(?:\s*[\[(<{]\s*(?:at|@)\s*[\])>}]\s*|\s+at\s+)"
_OB_TLD = r"[A-Za-z]{2,6}"
_OB_EMAIL_RE = re.compile(
    rf"(?i)(?<![\w.@+-])(?P<local>{_OB_WORD}(?:{_OB_DOT}{_OB_WORD}){{0,4}})"
    rf"(?P<at>{_OB_AT})"
    rf"(?P<domain>{_OB_WORD}(?:{_OB_DOT}{_OB_WORD}){{0,3}}{_OB_DOT}{_OB_TLD})"
    r"(?![\w@-])(?!\s+(?:at|dot)\b)(?!\s*[\[(<{]\s*(?:at|dot)\b)"
)
_SPOKEN_DOT_RE = re.compile(rf"(?i){_OB_DOT}")
_SPELLED_DOT_RE = re.compile(r"(?i)[\s\[(<{]dot[\s\])>}]")  # "dot" written as a word
_EMAIL_LIKE_LOCAL_RE = re.compile(r"[._+]|\d")


def _obfuscated_emails(text: str) -> list[Detection]:
    found = []
    for m in _OB_EMAIL_RE.finditer(text):
        local, at, domain = m.group("local", "at", "domain")
        if not local[0].isalpha():  # "4.50 at tesco.com" is a price
            continue
        bracketed = at.strip()[:1] in "[(<{"
        spelled = _SPELLED_DOT_RE.search(domain) is not None
        if not (bracketed or spelled or _EMAIL_LIKE_LOCAL_RE.search(local)):
            continue
        key = _SPOKEN_DOT_RE.sub(".", local) + "@" + _SPOKEN_DOT_RE.sub(".", domain)
        found.append(Detection("EMAIL", m.start(), m.end(), key.casefold()))
    return found


class EmailDetector:
    """Email addresses, including plus-addressing, sub-domains and spelled-out forms.

    A spelled-out address ("jane dot doe at example dot com", "j.doe [at] example.org")
    is numbered as the address it spells, so it shares a placeholder with the plain form.
    """

    def detect(self, text: str) -> list[Detection]:
        """Return the email addresses in ``text``."""
        plain = [
            Detection("EMAIL", m.start(), m.end(), m.group().casefold())
            for m in _EMAIL_RE.finditer(text)
        ]
        spelled = [
            d
            for d in _obfuscated_emails(text)
            if not any(d.start < p.end and p.start < d.end for p in plain)
        ]
        return sorted(plain + spelled, key=lambda d: d.start)


# ---------------------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------------------

DEFAULT_PHONE_REGIONS: tuple[str, ...] = (
    "US",
    "GB",
    "DE",
    "FR",
    "NL",
    "ES",
    "IT",
    "IN",
    "IE",
    "AU",
)
_LENIENCIES = {
    "POSSIBLE": phonenumbers.Leniency.POSSIBLE,
    "VALID": phonenumbers.Leniency.VALID,
    "STRICT_GROUPING": phonenumbers.Leniency.STRICT_GROUPING,
    "EXACT_GROUPING": phonenumbers.Leniency.EXACT_GROUPING,
}
LENIENCY_NAMES: tuple[str, ...] = tuple(_LENIENCIES)
# A number glued to more of an identifier ("SN 4418-2290-771", "A7-0161 4960321") or
# introduced by a label of one is a serial or model number, not a phone.
_GLUED_RE = re.compile(r"[\w-]")
# Digits that continue an IBAN-shaped run ("NL64 CORL 9950 9438 44" with a wrong checksum).
_IBAN_PREFIX_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4})*\s?$")
_SERIAL_LABEL_RE = re.compile(
    r"(?i)\b(?:serial(?:\s+(?:no|number|#))?|s/n|sn|imei|model(?:\s+(?:no|number))?|part"
    r"(?:\s+(?:no|number))?|sku|batch|lot|barcode|ean|upc|isbn|tracking(?:\s+number)?|"
    r"(?:order|purchase|invoice|ticket|case|booking|reservation|transaction)"
    r"(?:\s+(?:no|number|id|#))?)"
    r"\.?\s*[:#]?\s*$"
)


_DATE_LIKE_RE = re.compile(r"(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})")
_INTERNATIONAL_RE = re.compile(r"\(?(?:\+|00[1-9])")


def _date_like(raw: str) -> bool:
    """Whether a phone candidate is really a date (25.12.2023, 2024-03-15, 01/04/25)."""
    m = _DATE_LIKE_RE.fullmatch(raw.strip())
    if m is None:
        return False
    a, b, c = (int(g) for g in m.groups())
    if len(m.group(1)) == 4:
        return 1 <= b <= 12 and 1 <= c <= 31
    return 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12


class PhoneDetector:
    """Phone numbers found by libphonenumber's matcher, tried in several default regions.

    Two tiers:

    - ``leniency`` (default ``VALID``): the number must fit a region's numbering plan.
      A national number must be valid in one of ``regions``; this rejects most dates,
      prices and order numbers.
    - ``international_possible`` (default on): a number written in international format
      (``+44 ...``, ``0049 ...``) is also kept when it is merely *possible* (right length
      for its country). A leading ``+`` is a strong signal, and this catches numbers the
      metadata marks as unassigned, such as Ofcom's fictional ``+44 7700 900xxx``.

    Candidates with more digits than any phone number (cards: 16; a written extension
    is libphonenumber's own ``number.extension`` and does not count), date-shaped
    candidates and digits glued to a longer identifier or after a serial/model label
    ("SN 4418-2290-771") are dropped. When a national number is valid in several regions
    ("030 2312 5000" is London non-geographic and Berlin), the first region in ``regions``
    decides its normalised key.

    Args:
        regions: Default regions (ISO 3166 alpha-2) to parse national numbers in.
        leniency: One of ``LENIENCY_NAMES``.
        international_possible: Whether to add the second tier.

    """

    def __init__(
        self,
        regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
        leniency: str = "VALID",
        international_possible: bool = True,
    ) -> None:
        self._regions = tuple(regions)
        self._leniency = _LENIENCIES[leniency]
        self._international = international_possible and leniency != "POSSIBLE"

    def detect(self, text: str) -> list[Detection]:
        """Return the phone numbers in ``text`` (with a written extension, if any)."""
        if sum(ch.isdigit() for ch in text) < 7:
            return []
        found: dict[tuple[int, int], str] = {}
        tiers = [(region, self._leniency, False) for region in self._regions]
        if self._international:
            tiers.append((self._regions[0], phonenumbers.Leniency.POSSIBLE, True))
        for region, leniency, international_only in tiers:
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency):
                raw = match.raw_string
                international = _INTERNATIONAL_RE.match(raw) is not None
                if international_only and not international:
                    continue
                number = match.number
                # libphonenumber parses a written extension ("ext. 2209", "x 217") into
                # number.extension; its digits do not count towards the number's length.
                digits = sum(ch.isdigit() for ch in raw) - len(number.extension or "")
                if digits > (15 if international else 13) or _date_like(raw):
                    continue
                if self._part_of_identifier(text, match.start, match.end):
                    continue
                found.setdefault(
                    (match.start, match.end), f"+{number.country_code}{number.national_number}"
                )
        spans = sorted(found, key=lambda s: (s[0], -(s[1] - s[0])))
        result: list[Detection] = []
        for start, end in spans:
            if result and start < result[-1].end:  # the same number seen from two regions
                continue
            result.append(Detection("PHONE", start, end, found[(start, end)]))
        return result

    @staticmethod
    def _part_of_identifier(text: str, start: int, end: int) -> bool:
        """Whether the digits at ``start:end`` continue a serial, model or part number."""
        before = text[max(0, start - 30) : start]
        if start > 0 and _GLUED_RE.match(text, start - 1):
            return True
        after = text[end : end + 2]
        if after[:1].isalnum() or (after[:1] in "-/" and after[1:2].isalnum()):
            return True
        return (
            _SERIAL_LABEL_RE.search(before) is not None
            or _IBAN_PREFIX_RE.search(before) is not None
        )


# ---------------------------------------------------------------------------------------
# Card numbers
# ---------------------------------------------------------------------------------------

_DIGIT_RUN_RE = re.compile(r"(?<![\w-])\d+(?:[ -]\d+)*(?![\w])")
_GROUP_RE = re.compile(r"\d+")


def _card_brand_ok(digits: str) -> bool:
    """Check issuer prefix and length: Visa, Mastercard, Amex, Discover, JCB, Diners, Maestro."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649:
        return 16 <= n <= 19
    if 3528 <= four <= 3589:
        return 16 <= n <= 19
    if two in (36, 38) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19
    if two in (50, 56, 57, 58) or digits[0] == "6":
        return 12 <= n <= 19
    return False


class CardDetector:
    """Payment card numbers (13 to 19 digits, spaces or dashes allowed) that pass Luhn."""

    def detect(self, text: str) -> list[Detection]:
        """Return the card numbers in ``text``."""
        result: list[Detection] = []
        for run in _DIGIT_RUN_RE.finditer(text):
            groups = [
                (m.start() + run.start(), m.end() + run.start())
                for m in _GROUP_RE.finditer(run.group())
            ]
            i = 0
            while i < len(groups):
                hit = self._longest_card_from(text, groups, i)
                if hit is None:
                    i += 1
                    continue
                j, digits = hit
                result.append(Detection("CARD", groups[i][0], groups[j][1], digits))
                i = j + 1
        return result

    @staticmethod
    def _longest_card_from(
        text: str, groups: list[tuple[int, int]], i: int
    ) -> tuple[int, str] | None:
        """Return ``(last group index, digits)`` of the longest card starting at group ``i``."""
        best: tuple[int, str] | None = None
        digits = ""
        for j in range(i, len(groups)):
            digits += text[groups[j][0] : groups[j][1]]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and _card_brand_ok(digits) and luhn_valid(digits):
                best = (j, digits)
        return best


# ---------------------------------------------------------------------------------------
# IBANs
# ---------------------------------------------------------------------------------------

_IBAN_START_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?=[ ]?[A-Za-z0-9])")


class IbanDetector:
    """IBANs of any registry country, grouped by spaces or not, in any letter case.

    A candidate must have its country's exact length (:data:`IBAN_LENGTHS`) and pass the
    mod-97 checksum.
    """

    def detect(self, text: str) -> list[Detection]:
        """Return the IBANs in ``text``."""
        result: list[Detection] = []
        pos = 0
        while True:
            m = _IBAN_START_RE.search(text, pos)
            if m is None:
                return result
            hit = self._match_at(text, m.start())
            if hit is None:
                pos = m.start() + 1
                continue
            end, compact = hit
            result.append(Detection("IBAN", m.start(), end, compact))
            pos = end

    @staticmethod
    def _match_at(text: str, start: int) -> tuple[int, str] | None:
        """Return ``(end, compact IBAN)`` for a valid IBAN starting at ``start``, if any."""
        chars: list[str] = []
        ends: list[int] = []  # text offset after each collected character
        i = start
        while i < len(text) and len(chars) < 34:
            ch = text[i]
            if ch.isascii() and ch.isalnum():
                chars.append(ch)
                ends.append(i + 1)
                i += 1
            elif (
                ch == " " and i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalnum()
            ):
                i += 1
            else:
                break
        n = IBAN_LENGTHS.get("".join(chars[:2]).upper(), 0)
        if not n or n > len(chars):
            return None
        end = ends[n - 1]
        if end < len(text) and text[end].isascii() and text[end].isalnum():
            return None  # the IBAN would end inside a word
        compact = "".join(chars[:n]).upper()
        return (end, compact) if iban_valid(compact) else None


# ---------------------------------------------------------------------------------------
# Configurable identifiers (order and account numbers)
# ---------------------------------------------------------------------------------------


class PatternDetector:
    """Identifiers matched by regular expressions, e.g. order numbers ``PC-123456``.

    Args:
        pii_type: The type to report.
        patterns: Regular expressions; use inline flags such as ``(?i)`` where needed.

    """

    def __init__(self, pii_type: PiiType, patterns: Sequence[str]) -> None:
        self._type = pii_type
        self._patterns = tuple(re.compile(p) for p in patterns)

    def detect(self, text: str) -> list[Detection]:
        """Return the identifiers in ``text``."""
        return [
            Detection(self._type, m.start(), m.end(), re.sub(r"[\s-]", "", m.group().upper()))
            for pattern in self._patterns
            for m in pattern.finditer(text)
            if m.end() > m.start()
        ]


# ---------------------------------------------------------------------------------------
# URLs that carry secrets
# ---------------------------------------------------------------------------------------

_URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'\"*"
SECRET_PARAMS: frozenset[str] = frozenset(
    {
        "token", "access_token", "refresh_token", "id_token", "auth_token", "key", "api_key",
        "apikey", "sig", "signature", "auth", "authorization", "session", "sessionid",
        "session_id", "sid", "password", "passwd", "pwd", "pass", "code", "otp", "secret",
        "client_secret", "jwt", "hash", "nonce", "ticket", "credential", "x-amz-signature",
        "x-amz-credential", "x-goog-signature",
    }
)  # fmt: skip
_SECRET_PARAM_PARTS = ("token", "secret", "passw", "signature", "session", "apikey", "api_key")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _looks_random(piece: str, min_len: int = 16) -> bool:
    """Whether a URL piece looks like a generated secret rather than a word or a slug."""
    if len(piece) < min_len or not piece.replace("-", "").replace("_", "").isalnum():
        return False
    if _UUID_RE.match(piece):
        return True
    longest = max(piece.replace("_", "-").split("-"), key=len)
    if len(longest) < min_len:
        return False
    digits = sum(ch.isdigit() for ch in longest)
    letters = sum(ch.isalpha() for ch in longest)
    if digits < 2 or letters < 2:
        return digits == 0 and len(longest) >= 32 and _entropy(longest) > 3.5
    return _entropy(longest) > 3.0


def _entropy(s: str) -> float:
    counts = {ch: s.count(ch) for ch in set(s)}
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())


def url_has_secret(url: str) -> bool:
    """Whether ``url`` carries a credential: token-like parameter, userinfo or random path.

    Args:
        url: An absolute URL or one starting with ``www.``.

    Returns:
        True if the URL should be redacted as a whole.

    """
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.password or parts.username:
        return True
    params = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(
        parts.fragment, keep_blank_values=True
    )
    for name, value in params:
        name = name.lower()
        if name in SECRET_PARAMS or any(p in name for p in _SECRET_PARAM_PARTS):
            return True
        if _looks_random(value, min_len=24):
            return True
    return any(_looks_random(seg) for seg in parts.path.split("/"))


class TokenUrlDetector:
    """URLs carrying tokens, keys, signatures or random path segments; plain URLs stay."""

    def detect(self, text: str) -> list[Detection]:
        """Return the secret-carrying URLs in ``text``."""
        result: list[Detection] = []
        for m in _URL_RE.finditer(text):
            url = m.group()
            while url and url[-1] in _URL_TRAILING:
                if url[-1] == ")" and url.count("(") >= url.count(")"):
                    break
                url = url[:-1]
            if url_has_secret(url):
                result.append(Detection("URL", m.start(), m.start() + len(url), url))
        return result


# ---------------------------------------------------------------------------------------
# Street addresses
# ---------------------------------------------------------------------------------------

_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|"
    "NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
_UK_POSTCODE = r"(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2})"
_CAP = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:['’][a-z]+)?"
# A city: capitalised words, with the particles of names such as "Frankfurt am Main",
# "Newcastle upon Tyne", "Saint-Denis".
_CITY = rf"{_CAP}(?:(?:[ -]|\s(?:am|an der|im|upon|on|sur|de|la|le)\s){_CAP}){{0,2}}"
# A trailing city with no postcode ("12 Mill Lane, Leeds."): only at the end of a clause.
_END_CITY = rf"(?:,\s*{_CITY}(?=\s*(?:$|[.!?;)\n]|,\s|\s(?:and|or|please|pls|asap|thanks)\b)))"
_EN_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Terrace|Close|Crescent|Parkway|Pkwy|Square|Sq|Highway|Hwy|Row|Mews|Gardens|Grove|Walk|"
    r"Circle|Cir|Trail|Park|Hill|Loop|Plaza|Pike|Alley|Crossing|Ridge|Green|Rise|Vale|Parade|"
    r"Quay|Wharf|Yard|Heights|Meadows?|Broadway|Path|Cove)"
)
# Suffixes that are rarely anything else, accepted in lower case without a postcode.
_EN_STRONG_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|lane|ln|boulevard|blvd|crescent|parkway|pkwy|highway|hwy|"
    r"drive|dr)"
)
_UNIT = r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm)\.?\s*#?\s*[A-Za-z0-9-]{1,6}"
_EN_TAIL = (
    rf"(?:,?\s+{_UNIT})?"
    rf"(?:,\s*{_CITY},?\s+(?:(?:{_US_STATES})\s+\d{{5}}(?:-\d{{4}})?|{_UK_POSTCODE})"
    rf"|,?\s+{_CITY},?\s+{_UK_POSTCODE}"
    rf"|,\s*{_CITY},\s*(?:{_US_STATES})\b|{_END_CITY})?"
)
_POSTCODE_CITY = rf"(?:,\s*(?:[A-Z]-)?\d{{4,5}}(?:\s?[A-Z]{{2}})?\s+{_CITY}|{_END_CITY})?"
# Lower-case English ("22 baker st london nw1 6xe"): the street's words may not be function
# words or the counted nouns of "waited 20 minutes on the road".
_LOW_WORD = (
    r"(?!(?:the|a|an|in|on|at|to|for|of|and|or|by|from|with|my|your|our|their|his|her|its|"
    r"minutes?|hours?|days?|weeks?|months?|years?|items?|times?|boxes|parcels?|packages?|"
    r"orders?|pounds|dollars|euros|miles|km|mins?|pcs|units?|more|other|extra)\b)"
    r"[a-zà-öø-ÿ][a-zß-öø-ÿ'’-]*"
)
_LOW_CITY = rf"{_LOW_WORD}(?:\s{_LOW_WORD}){{0,2}}"
_LOW_TAIL = (
    rf",?\s+{_LOW_CITY},?\s+(?:(?:{_US_STATES})\s+\d{{5}}(?:-\d{{4}})?|{_UK_POSTCODE})"
    rf"|,?\s+{_UK_POSTCODE}"
)
_DE_SUFFIX = r"(?:straße|strasse|str\.|weg|gasse|platz|allee|damm|ufer|ring|chaussee|steig|graben)"
_DE_WORD_SUFFIX = r"(?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Ring|Damm|Ufer|Chaussee)"
_DE_PREPOSITION = (
    r"(?:Am|Im|An\s+der|An\s+den|Auf\s+der|Auf\s+dem|Auf\s+den|In\s+der|In\s+den|Zum|Zur|"
    r"Unter\s+den|Hinter\s+der|Vor\s+dem|Alte|Alter|Neue|Neuer|Großer|Kleine|Kleiner)"
)

ADDRESS_PATTERNS: tuple[str, ...] = (
    # US / UK: [Flat 3, ]221B Baker Street[, Apt 4B][, City, ST 12345 | City POSTCODE | , City]
    rf"(?:\b(?:Flat|Unit|Apartment|Apt)\s+[A-Za-z0-9]{{1,4}},\s+)?"
    rf"\b\d{{1,5}}[A-Za-z]?\s+(?:(?:N|S|E|W|North|South|East|West)\.?\s+)?"
    rf"(?:{_CAP}\s+){{1,3}}{_EN_SUFFIX}\b\.?{_EN_TAIL}",
    # The same in lower case: a strong suffix, or any suffix with a postcode or ZIP code.
    rf"(?i:\b(?:(?:flat|unit|apartment|apt)\s+[a-z0-9]{{1,4}},?\s+)?"
    rf"\d{{1,5}}[a-z]?\s+(?:(?:n|s|e|w|north|south|east|west)\.?\s+)?(?:{_LOW_WORD}\s+){{1,3}}"
    rf"(?:{_EN_STRONG_SUFFIX}\b\.?(?:{_LOW_TAIL})?|{_EN_SUFFIX}\b\.?(?:{_LOW_TAIL})))",
    # German-speaking: Hauptstraße 12 / Bahnhofstr. 7 / Berliner Straße 5a /
    # Friedrich-Ebert-Straße 44[, 10115 Berlin]
    rf"\b(?:[A-ZÄÖÜ][a-zäöüß]{{2,}}{_DE_SUFFIX}"
    rf"|{_CAP}er\s+{_DE_WORD_SUFFIX}|(?:{_CAP}-){{1,3}}{_DE_WORD_SUFFIX})\s+\d{{1,4}}[a-z]?\b"
    rf"{_POSTCODE_CITY}",
    # German streets named with a preposition (Am Kirchberg 5, An der Alster 21): only with
    # a postcode and city, as "Am Montag 5 Pakete" reads the same.
    rf"\b{_DE_PREPOSITION}\s+{_CAP}(?:[ -]{_CAP}){{0,2}}\s+\d{{1,4}}[a-z]?,?\s+"
    rf"(?:[A-Z]-)?\d{{4,5}}\s+{_CITY}",
    # Dutch: Keizersgracht 123[, 1015 CJ Amsterdam]
    rf"\b[A-Z][a-z]+(?:straat|gracht|laan|plein|kade|singel|dijk|steeg|weg)\s+\d{{1,4}}[a-zA-Z]?\b"
    rf"{_POSTCODE_CITY}",
    # French: 12 rue de la Paix[, 75002 Paris]
    rf"\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|"
    rf"quai|route|cours)\s+(?:(?:de|du|des|la|le|l['’]|d['’])\s*)*{_CAP}(?:[ -]{_CAP}){{0,3}}"
    rf"{_POSTCODE_CITY}",
    # Spanish / Italian: Calle Mayor 5 / Via Roma 12[, 28013 Madrid]
    rf"\b(?:Calle|Avenida|Avda\.|Plaza|Paseo|Carrer|Via|Viale|Piazza|Corso|Rua)\s+"
    rf"(?:(?:de|del|la|los|las|di|della|dei)\s+)*{_CAP}(?:\s{_CAP}){{0,3}},?\s+\d{{1,4}}\b"
    rf"{_POSTCODE_CITY}",
    # A UK postcode on its own (any case), or a US state with its ZIP code.
    rf"\b{_UK_POSTCODE}\b",
    r"(?i:\b[a-z]{1,2}\d[a-z\d]?\s\d[abd-hjlnp-uw-z]{2}\b)",
    rf"\b(?:{_US_STATES})\s+\d{{5}}(?:-\d{{4}})?\b",
)


class AddressDetector:
    """Postal addresses in US, UK and continental European styles, plus bare postcodes.

    English addresses are found in any case; a lower-case one needs an unambiguous street
    suffix ("st", "road", "lane"...) or a postcode/ZIP code after it. German addresses
    include hyphenated street names and the "Am Kirchberg 5, 53111 Bonn" form. The span
    runs to the postcode and city where they follow, or to a city that ends the clause.

    Args:
        patterns: Regular expressions; the defaults are :data:`ADDRESS_PATTERNS`.

    """

    def __init__(self, patterns: Sequence[str] = ADDRESS_PATTERNS) -> None:
        self._patterns = tuple(re.compile(p) for p in patterns)

    def detect(self, text: str) -> list[Detection]:
        """Return the addresses in ``text``."""
        found = sorted(
            (
                Detection("ADDRESS", m.start(), m.end(), " ".join(m.group().casefold().split()))
                for pattern in self._patterns
                for m in pattern.finditer(text)
            ),
            key=lambda d: (-len(d), d.start),
        )
        kept: list[Detection] = []
        for d in found:  # longest first; drop a postcode inside a full address
            if not any(d.start < k.end and k.start < d.end for k in kept):
                kept.append(d)
        return sorted(kept, key=lambda d: d.start)
