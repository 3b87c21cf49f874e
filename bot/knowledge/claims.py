"""Checkable items in an answer, and whether the sources back each one.

The answer gate's support check (:mod:`bot.knowledge.gate`) extracts from a generated answer
every item a customer could act on and a small model could invent, and looks for each in
the retrieved passages and in the conversation:

===============  ========================================  ================================
kind             examples                                  key (what is compared)
===============  ========================================  ================================
``url``          ``https://pinecrest.example/returns``     lowercase, no scheme, no
                                                           ``www.``, no trailing ``/``
``email``        ``help@pinecrest.example``                lowercase
``code``         ``PC-123456``, ``RMA2291``                uppercase, no hyphens
``price``        ``€4.95``, ``4,95 EUR``, ``$9.95``        currency and amount
``percentage``   ``10%``, ``ten percent``                  the number
``duration``     ``5–7 business days``, ``2-year``         the range in days, months, hours
                                                           or minutes
``quantity``     ``-5°C``, ``3000 mm``, ``2-person``       the number and its unit
``number``       any other number written in digits        the number
``product``      a name from the caller's product list     lowercase
``name``         another capitalised multi-word name       lowercase
``policy``       ``lifetime warranty``, ``refund``         lowercase, any inflection
===============  ========================================  ================================

Normalisation before comparing: en and em dashes and the minus sign are hyphens, ``to``
between two numbers makes a range, ``4,95``/``4.95``/``4.950`` are one number (a comma with
three digits after it groups thousands), small number words (``two``, ``thirty``) count as
digits when a unit follows them, weeks count as 7 days and years as 12 months, ``business``
and ``working`` days are days, case and trailing punctuation do not matter.

How the sources back an item:

* a **range** (``5–7 days``) needs the same range; a single duration (``7 days``) is backed
  by the same duration or by a range that ends in it;
* a **bare number** is backed by that number anywhere in the sources (in any role, in digits
  or as a word);
* a **URL** is backed by the same URL, and a bare domain by any URL on it;
* a **name**, **product** or **policy term** is backed where it appears in the sources
  (inflections allowed); a multi-word policy term is also backed when all its words occur in
  one source sentence (``returns are free`` backs ``free returns``).

What is not a claim: numbered-list markers (``1.``), redaction placeholders (``[ORDER_1]``,
the guardrails catch those), policy terms inside a question the bot asks ("would you like a
refund or an exchange?": it asserts nothing), capitalised words at the start of a sentence
(only the rest of a capitalised run counts as a name).

Limits: the check is about presence, not meaning. "We do not offer free returns" is backed
by a source that says "free returns", and a source that says "no lifetime warranty" backs
"lifetime warranty". The relevance check and the extract fallback are the other defences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

DEFAULT_POLICY_TERMS: tuple[str, ...] = (
    "lifetime warranty",
    "lifetime guarantee",
    "money-back guarantee",
    "satisfaction guarantee",
    "free returns",
    "free return shipping",
    "free shipping",
    "free delivery",
    "free exchange",
    "free repair",
    "price match",
    "price matching",
    "price adjustment",
    "store credit",
    "gift card",
    "refund",
    "exchange",
    "replacement",
    "repair",
)
"""Policy terms an answer may only use where a source does (override in the gate's config)."""

NUMBER_WORDS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
    "hundred": 100,
}

CURRENCIES: dict[str, str] = {
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "chf": "CHF",
}

# Duration units: name -> (canonical unit, multiplier into it).
DURATION_UNITS: dict[str, tuple[str, int]] = {
    "minute": ("minute", 1),
    "min": ("minute", 1),
    "hour": ("hour", 1),
    "hr": ("hour", 1),
    "day": ("day", 1),
    "business day": ("day", 1),
    "working day": ("day", 1),
    "week": ("day", 7),
    "wk": ("day", 7),
    "month": ("month", 1),
    "year": ("month", 12),
    "yr": ("month", 12),
}

# Physical and counting units: spelling -> canonical unit.
QUANTITY_UNITS: dict[str, str] = {
    "mm": "mm",
    "millimetres": "mm",
    "millimeters": "mm",
    "cm": "cm",
    "centimetres": "cm",
    "centimeters": "cm",
    "m": "m",
    "metres": "m",
    "meters": "m",
    "km": "km",
    "kilometres": "km",
    "kilometers": "km",
    "g": "g",
    "grams": "g",
    "kg": "kg",
    "kilograms": "kg",
    "oz": "oz",
    "ounces": "oz",
    "lb": "lb",
    "lbs": "lb",
    "ml": "ml",
    "l": "l",
    "litres": "l",
    "liters": "l",
    "°c": "°c",
    "celsius": "°c",
    "degrees c": "°c",
    "degrees celsius": "°c",
    "°f": "°f",
    "fahrenheit": "°f",
    "degrees f": "°f",
    "degrees fahrenheit": "°f",
    "°": "°",
    "degrees": "°",
    "denier": "denier",
    "d": "denier",
    "fill power": "fill",
    "fill": "fill",
    "person": "person",
    "persons": "person",
    "people": "person",
    "man": "person",
    "season": "season",
    "seasons": "season",
}

SENTENCE_STARTERS = frozenset(
    """a about after all also an and any are as at before both but by can could do does
    each every for from get hello hi how i if in is it its just let may most my no not
    of on once or our please so some sorry sure thank thanks that the their then there
    these they this those to unfortunately we what when where which while who why will
    with yes you your""".split()
)
"""Capitalised words that begin a name run without being part of a name."""

_DIGITS = r"\d+(?:[.,]\d+)*"
_WORD_NUMBER = r"(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_NUM = rf"(?:(?<![\w.,])-)?{_DIGITS}"
_NUM_OR_WORD = rf"(?:{_NUM}|\b{_WORD_NUMBER}\b)"
_DURATION_UNIT = (
    r"(?P<unit>business\s+days?|working\s+days?|minutes?|mins?|hours?|hrs?|days?|weeks?|"
    r"wks?|months?|years?|yrs?)"
)
_QUANTITY_UNIT = (
    r"(?P<unit>"
    + "|".join(re.escape(u).replace(r"\ ", r"\s+") for u in sorted(QUANTITY_UNITS, key=len)[::-1])
    + r")"
)
_UNIT_JOIN = r"\s?-?\s?"

PLACEHOLDER_RE = re.compile(r"\[[A-Z][A-Z_]*_\d+\]|\{\{[^}]*\}\}|\{[A-Za-z_][\w ]*\}")
LIST_MARKER_RE = re.compile(r"(?m)^\s*\d{1,2}[.)](?=\s)")
EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
URL_RE = re.compile(
    r"(?i)(?:\bhttps?://|\bwww\.)[^\s<>()\[\]\"']+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|org|net|eu|de|fr|nl|uk|io|shop|help|example)\b"
    r"(?:/[^\s<>()\[\]\"']*)?"
)
CODE_RE = re.compile(
    r"(?<![\w-])(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])"
    r"(?:[A-Z0-9]{1,8}(?:-[A-Z0-9]{2,}){1,3}|[A-Z]{2,5}\d{3,}[A-Z0-9]*)(?![\w-])"
)
PRICE_RE = re.compile(
    rf"(?i)(?P<pre>[€$£]|\b(?:eur|usd|gbp|chf)\b)\s?(?P<num>{_DIGITS})"
    rf"|(?P<num2>{_DIGITS})\s?(?P<post>[€$£]|\b(?:eur|usd|gbp|chf|euros?|dollars?|pounds?)\b)"
)
PERCENT_RE = re.compile(rf"(?i)(?P<num>{_NUM_OR_WORD})\s?(?:%|\bper\s?cent\b|\bpercent\b)")
DURATION_RANGE_RE = re.compile(
    rf"(?i)(?:\bbetween\s+)?(?P<lo>{_NUM_OR_WORD})\s?(?:-|\bto\b|\band\b)\s?(?P<hi>{_NUM_OR_WORD})"
    rf"{_UNIT_JOIN}{_DURATION_UNIT}\b"
)
DURATION_RE = re.compile(rf"(?i)(?P<num>{_NUM_OR_WORD}){_UNIT_JOIN}{_DURATION_UNIT}\b")
QUANTITY_RE = re.compile(rf"(?i)(?P<num>{_NUM_OR_WORD}){_UNIT_JOIN}{_QUANTITY_UNIT}(?![^\W\d_])")
NUMBER_RE = re.compile(rf"{_NUM}")
ANY_NUMBER_RE = re.compile(rf"(?i){_NUM}|\b{_WORD_NUMBER}\b")
NAME_RUN_RE = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*|\d+(?![\w.,])))+")
SENTENCE_RE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_DASHES = str.maketrans({"–": "-", "—": "-", "‒": "-", "−": "-", "\u00a0": " ", "’": "'"})


@dataclass(frozen=True)
class Claim:
    """One checkable item found in an answer.

    Attributes:
        kind: ``url``, ``email``, ``code``, ``price``, ``percentage``, ``duration``,
            ``quantity``, ``number``, ``product``, ``name`` or ``policy``.
        text: The item as the answer writes it.
        key: Its normalised form, e.g. ``price:EUR:4.95``, ``duration:60-60:month``.
    """

    kind: str
    text: str
    key: str


def clean(text: str) -> str:
    """Normalise dashes, minus signs, no-break spaces and curly apostrophes (same length).

    Args:
        text: Any text.

    Returns:
        The text with one hyphen, one space and one apostrophe character.
    """
    return text.translate(_DASHES)


def number_value(token: str) -> str | None:
    """Return the canonical value of a number written in digits or as a small word.

    ``4,95``, ``4.95`` and ``4.950`` give ``4.95``; ``1,000`` and ``1,000.00`` give
    ``1000``; ``two`` gives ``2``; ``75.00`` gives ``75``.

    Args:
        token: The number as written.

    Returns:
        The value without exponent or trailing zeros, or None if it is not a number.
    """
    token = token.strip().lower()
    if token in NUMBER_WORDS:
        return str(NUMBER_WORDS[token])
    sign = ""
    if token.startswith("-"):
        sign, token = "-", token[1:]
    if "," in token and "." in token:
        decimal_mark = "," if token.rfind(",") > token.rfind(".") else "."
        grouping = "." if decimal_mark == "," else ","
        token = token.replace(grouping, "").replace(decimal_mark, ".")
    elif "," in token:
        token = token.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", token) else token
        token = token.replace(",", ".")
    elif token.count(".") > 1:
        token = token.replace(".", "")
    try:
        value = Decimal(token)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("", "0"):
        return "0"
    return sign + text


def _unit_key(unit: str) -> str:
    return re.sub(r"\s+", " ", unit.lower())


def duration_unit(unit: str) -> tuple[str, int]:
    """Return the canonical unit and multiplier of a duration unit (``weeks`` -> day, 7)."""
    name = _unit_key(unit)
    if name.endswith("s") and name not in DURATION_UNITS:
        name = name[:-1]
    return DURATION_UNITS[name]


def _scaled(value: str, factor: int) -> str:
    scaled = number_value(str(Decimal(value) * factor))
    return scaled if scaled is not None else value


def url_key(url: str) -> str:
    """Return the comparison key of a URL: lowercase, no scheme, no ``www.``, no end slash."""
    key = url.lower().rstrip(".,;:!?)'\"")
    key = re.sub(r"^https?://", "", key)
    key = re.sub(r"^www\.", "", key)
    return key.rstrip("/")


def _term_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in re.split(r"[\s-]+", term.strip().lower()) if w]
    body = r"[\s-]+".join(words)
    return re.compile(rf"(?i)\b{body}(?:s|es|ed|ing|able)?\b")


def _name_pattern(name: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in name.split())
    return re.compile(rf"(?i)(?<![\w-]){body}(?:'?s|es)?(?![\w-])")


class _Masked:
    """A text whose matched spans are blanked so later passes do not see them again."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.text = text

    def take(self, start: int, end: int) -> str:
        found = self.original[start:end]
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]
        return found


def _in_question(text: str, start: int) -> bool:
    for sentence in SENTENCE_RE.finditer(text):
        if sentence.start() <= start < sentence.end():
            return sentence.group().rstrip().endswith("?")
    return False


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(*_")
    return not before or before[-1] in ".!?:\n"


class ClaimExtractor:
    """Finds the checkable items of a text.

    Args:
        product_names: Known product names (e.g. the knowledge base's chunk titles that
            name products); an answer may name one only where a source does.
        policy_terms: Policy phrases that are claims (default :data:`DEFAULT_POLICY_TERMS`).
        names: Whether capitalised multi-word names outside the product list are claims.
    """

    def __init__(
        self,
        product_names: Iterable[str] = (),
        policy_terms: Iterable[str] = DEFAULT_POLICY_TERMS,
        names: bool = True,
    ) -> None:
        self.names = names
        products = {" ".join(n.split()) for n in product_names if n.strip()}
        self.product_names = tuple(sorted(products, key=lambda n: (-len(n), n)))
        self._products = [(n, _name_pattern(n)) for n in self.product_names]
        terms = {" ".join(t.lower().split()) for t in policy_terms if t.strip()}
        self.policy_terms = tuple(sorted(terms, key=lambda t: (-len(t), t)))
        self._policies = [(t, _term_pattern(t)) for t in self.policy_terms]

    def extract(self, text: str) -> list[Claim]:
        """Return the claims of a text, in the order of the passes that find them.

        Args:
            text: An answer.

        Returns:
            The claims (an item written twice is listed twice).
        """
        masked = _Masked(clean(text))
        for rx in (PLACEHOLDER_RE, LIST_MARKER_RE):
            for m in rx.finditer(masked.text):
                masked.take(m.start(), m.end())
        claims: list[Claim] = []
        claims += self._simple(masked, EMAIL_RE, "email", lambda s: s.lower())
        claims += self._simple(masked, URL_RE, "url", url_key, strip=True)
        claims += self._products_in(masked)  # before numbers: names may hold digits
        claims += self._simple(masked, CODE_RE, "code", lambda s: s.upper().replace("-", ""))
        claims += self._prices(masked)
        claims += self._percentages(masked)
        claims += self._durations(masked)
        claims += self._quantities(masked)
        claims += self._numbers(masked)
        if self.names:
            claims += self._names(masked)
        claims += self._policy(masked)
        return claims

    @staticmethod
    def _simple(
        masked: _Masked,
        rx: re.Pattern[str],
        kind: str,
        key: Callable[[str], str],
        strip: bool = False,
    ) -> list[Claim]:
        claims = []
        for m in rx.finditer(masked.text):
            end = m.end()
            if strip:
                end = m.start() + len(m.group().rstrip(".,;:!?)'\""))
            found = masked.take(m.start(), end)
            claims.append(Claim(kind, found, f"{kind}:{key(found)}"))
        return claims

    @staticmethod
    def _prices(masked: _Masked) -> list[Claim]:
        claims = []
        for m in PRICE_RE.finditer(masked.text):
            currency = CURRENCIES[(m.group("pre") or m.group("post")).lower()]
            value = number_value(m.group("num") or m.group("num2"))
            if value is None:
                continue
            found = masked.take(m.start(), m.end())
            claims.append(Claim("price", found, f"price:{currency}:{value}"))
        return claims

    @staticmethod
    def _percentages(masked: _Masked) -> list[Claim]:
        claims = []
        for m in PERCENT_RE.finditer(masked.text):
            value = number_value(m.group("num"))
            if value is not None:
                claims.append(
                    Claim("percentage", masked.take(m.start(), m.end()), f"percent:{value}")
                )
        return claims

    @staticmethod
    def _durations(masked: _Masked) -> list[Claim]:
        claims = []
        for rx in (DURATION_RANGE_RE, DURATION_RE):
            for m in rx.finditer(masked.text):
                unit, factor = duration_unit(m.group("unit"))
                groups = m.groupdict()
                lo = number_value((groups.get("lo") or groups.get("num") or "").lstrip("-"))
                hi = number_value((groups.get("hi") or groups.get("num") or "").lstrip("-"))
                if lo is None or hi is None:
                    continue
                found = masked.take(m.start(), m.end())
                key = f"duration:{_scaled(lo, factor)}-{_scaled(hi, factor)}:{unit}"
                claims.append(Claim("duration", found, key))
        return claims

    @staticmethod
    def _quantities(masked: _Masked) -> list[Claim]:
        claims = []
        for m in QUANTITY_RE.finditer(masked.text):
            value = number_value(m.group("num"))
            unit = QUANTITY_UNITS.get(_unit_key(m.group("unit")))
            if value is None or unit is None:
                continue
            if not re.search(r"\d", m.group("num")) and unit in ("m", "g", "l", "d", "denier"):
                continue  # "one m..." is not a measurement
            found = masked.take(m.start(), m.end())
            claims.append(Claim("quantity", found, f"quantity:{value}:{unit}"))
        return claims

    @staticmethod
    def _numbers(masked: _Masked) -> list[Claim]:
        claims = []
        for m in NUMBER_RE.finditer(masked.text):
            value = number_value(m.group())
            if value is not None:
                claims.append(Claim("number", masked.take(m.start(), m.end()), f"number:{value}"))
        return claims

    def _products_in(self, masked: _Masked) -> list[Claim]:
        claims = []
        for name, rx in self._products:
            for m in rx.finditer(masked.text):
                claims.append(
                    Claim("product", masked.take(m.start(), m.end()), f"product:{name.lower()}")
                )
        return claims

    @staticmethod
    def _names(masked: _Masked) -> list[Claim]:
        claims = []
        for m in NAME_RUN_RE.finditer(masked.text):
            words = m.group().split()
            start = m.start()
            drop = 0
            if _sentence_start(masked.text, start):
                drop = 1
            while drop < len(words) and words[drop].lower() in SENTENCE_STARTERS:
                drop += 1
            rest = words[drop:]
            while rest and rest[-1].lower() in SENTENCE_STARTERS:
                rest = rest[:-1]
            if len(rest) < 2 or all(w.isupper() or w.isdigit() for w in rest):
                continue
            name = " ".join(rest)
            claims.append(Claim("name", name, f"name:{name.lower()}"))
        return claims

    def _policy(self, masked: _Masked) -> list[Claim]:
        claims = []
        for term, rx in self._policies:
            for m in rx.finditer(masked.text):
                if _in_question(masked.text, m.start()):
                    continue
                claims.append(Claim("policy", masked.take(m.start(), m.end()), f"policy:{term}"))
        return claims


@dataclass(frozen=True)
class SourceFacts:
    """What the sources (passages and conversation) say, ready for look-ups.

    Build it with :meth:`build`; :meth:`supports` answers for one claim.

    Attributes:
        keys: The claim keys found in the sources.
        values: Every number in the sources, in digits or words, canonical.
        durations: ``(low, high, unit)`` of each duration in the sources.
        urls: URL keys in the sources, and the bare domains of those URLs.
        text: The sources, cleaned and lowercased, one per line.
        codes: The sources in upper case without hyphens (codes are looked up in it).
    """

    keys: frozenset[str]
    values: frozenset[str]
    durations: frozenset[tuple[str, str, str]]
    urls: frozenset[str]
    text: str
    codes: str

    @classmethod
    def build(cls, texts: Sequence[str], extractor: ClaimExtractor) -> SourceFacts:
        """Read the facts of the sources.

        Args:
            texts: Passages, their titles and sources, and the conversation's texts.
            extractor: The extractor the answer's claims come from (same names, terms).

        Returns:
            The facts.
        """
        joined = "\n".join(clean(t) for t in texts)
        claims = extractor.extract(joined)
        values = set()
        for m in ANY_NUMBER_RE.finditer(joined):
            value = number_value(m.group())
            if value is not None:
                values.add(value)
                values.add(value.lstrip("-"))
        durations = set()
        urls = set()
        for claim in claims:
            if claim.kind == "duration":
                span, unit = claim.key.split(":")[1:]
                lo, hi = span.split("-", 1)
                durations.add((lo, hi, unit))
            elif claim.kind == "url":
                key = claim.key.split(":", 1)[1]
                urls.add(key)
                urls.add(key.split("/", 1)[0])
        return cls(
            keys=frozenset(c.key for c in claims),
            values=frozenset(values),
            durations=frozenset(durations),
            urls=frozenset(urls),
            text=joined.lower(),
            codes=joined.upper().replace("-", ""),
        )

    def supports(self, claim: Claim) -> bool:
        """Whether the sources back a claim (see the module's rules).

        Args:
            claim: A claim from the answer.

        Returns:
            True when it is backed.
        """
        if claim.key in self.keys:
            return True
        kind, _, rest = claim.key.partition(":")
        if kind == "number":
            return rest in self.values
        if kind == "duration":
            span, unit = rest.rsplit(":", 1)
            lo, _, hi = span.partition("-")
            return lo == hi and any(
                u == unit and lo in (a, b) for a, b, u in self.durations if a != b
            )
        if kind == "url":
            return rest in self.urls
        if kind == "code":
            return re.search(rf"(?<![A-Z0-9]){re.escape(rest)}(?![A-Z0-9])", self.codes) is not None
        if kind == "quantity":
            # A bare degree sign matches Celsius or Fahrenheit, and either matches it.
            value, unit = rest.rsplit(":", 1)
            if not unit.startswith("°"):
                return False
            others = ("°", "°c", "°f") if unit == "°" else ("°",)
            return any(f"quantity:{value}:{u}" in self.keys for u in others)
        if kind in ("product", "name"):
            return _name_pattern(rest).search(self.text) is not None
        if kind == "policy":
            return self._policy_backed(rest)
        return False

    def _policy_backed(self, term: str) -> bool:
        if _term_pattern(term).search(self.text):
            return True
        words = [w for w in re.split(r"[\s-]+", term) if w]
        if len(words) < 2:
            return False
        rxs = [re.compile(rf"\b{re.escape(w)}(?:s|es|ed|ing|able)?\b") for w in words]
        return any(
            all(rx.search(sentence.group()) for rx in rxs)
            for sentence in SENTENCE_RE.finditer(self.text)
        )


def unsupported_claims(
    answer: str,
    sources: Sequence[str],
    product_names: Iterable[str] = (),
    policy_terms: Iterable[str] = DEFAULT_POLICY_TERMS,
    names: bool = True,
) -> list[Claim]:
    """Return the claims of an answer that no source backs.

    Args:
        answer: The generated answer.
        sources: Passages (with their titles and links) and the conversation's texts.
        product_names: Known product names.
        policy_terms: Policy phrases that are claims.
        names: Whether capitalised multi-word names are claims.

    Returns:
        The unbacked claims, each once, in the order found.
    """
    extractor = ClaimExtractor(product_names, policy_terms, names)
    facts = SourceFacts.build(sources, extractor)
    missing: dict[str, Claim] = {}
    for claim in extractor.extract(answer):
        if claim.key not in missing and not facts.supports(claim):
            missing[claim.key] = claim
    return list(missing.values())
