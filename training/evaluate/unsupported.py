"""The unsupported-answer rate: sent answers holding an item that no source or turn backs.

A sent answer is *unsupported* when it contains a checkable item (a number, a price, a
number with a unit such as a duration, a URL, a known product name) that appears neither in
the sources it was written from nor in the conversation.

This checker is deliberately separate from the answer gate (``bot.knowledge.gate`` and
``bot.knowledge.claims``) and must stay so: it imports neither, and its rules are its own,
simpler and stricter. If the evaluation graded the gate with the gate's own extraction, a
blind spot in that extraction would hide itself: an item the gate cannot see would count
as supported in both places. Two independent readings of the same answer fail together
only where both are blind.

Its rules, each a plain regular expression:

* **URLs**: ``http(s)://...`` and ``www....`` (trailing punctuation dropped). Backed when
  the URL, lowercased and without scheme, ``www.`` and a final ``/``, occurs in the
  sources' lowercased text.
* **Prices**: a currency sign or code before or after an amount (``€4.95``, ``75 EUR``,
  ``$9.95``, ``4,95 €``). Backed by the same currency and amount in the sources (a decimal
  comma reads as a point).
* **Numbers with units**: digits, then a unit from a short list (days, weeks, months,
  years, hours, minutes, percent, mm, cm, km, g, kg, ml, l, degrees), with a space or
  hyphen or nothing between (``30 days``, ``5-year``, ``10%``, ``-5°C``); ``business`` and
  ``working`` days are days. Backed by the same number and unit in the sources (written
  there in digits, or as a word up to twenty). No conversions: ``2 weeks`` is not backed
  by ``14 days``.
* **Other numbers**: any other digits. Backed by the same number anywhere in the sources.
* **Product names**: any name of the given list (case-insensitive, whole words). Backed
  when it occurs in the sources.

Numbers written as words in the answer are not items here (the gate reads those).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_AMOUNT = r"\d+(?:[.,]\d+)?"
_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP"}
_CODES = {
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
}
_PRICE = re.compile(
    r"(?i)(?P<sign>[€$£])\s?(?P<a>" + _AMOUNT + r")"
    r"|\b(?P<code>eur|usd|gbp)\s?(?P<b>" + _AMOUNT + r")"
    r"|(?P<c>" + _AMOUNT + r")\s?(?:(?P<sign2>[€$£])|(?P<code2>" + "|".join(_CODES) + r")\b)"
)
_UNITS = {
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
    "hour": "hour",
    "hours": "hour",
    "minute": "minute",
    "minutes": "minute",
    "%": "percent",
    "percent": "percent",
    "mm": "mm",
    "cm": "cm",
    "km": "km",
    "kg": "kg",
    "g": "g",
    "ml": "ml",
    "l": "l",
    "°c": "degree",
    "°f": "degree",
    "°": "degree",
    "degrees": "degree",
}
_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_UNIT_ALTERNATION = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_WITH_UNIT = re.compile(
    r"(?i)(?P<n>" + _AMOUNT + r"|\b(?:" + "|".join(_WORDS) + r")\b)\s?-?\s?"
    r"(?:(?:business|working)\s+)?(?P<u>" + _UNIT_ALTERNATION + r")(?![a-z])"
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_URL = re.compile(r"(?i)(?:https?://|www\.)[^\s<>()\"']+")


def _value(token: str) -> float:
    token = token.lower()
    if token in _WORDS:
        return float(_WORDS.index(token))
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", token):
        token = token.replace(",", "")
    return round(float(token.replace(",", ".")), 4)


def _url(text: str) -> str:
    text = re.sub(r"^(?:https?://)?(?:www\.)?", "", text.lower().rstrip(".,;:!?)"))
    return text.rstrip("/")


def _prices(text: str) -> list[tuple[str, tuple[str, float]]]:
    found = []
    for m in _PRICE.finditer(text):
        sign = m.group("sign") or m.group("sign2")
        code = m.group("code") or m.group("code2")
        currency = _SIGNS[sign] if sign else _CODES[str(code).lower()]
        amount = m.group("a") or m.group("b") or m.group("c")
        found.append((m.group(), (currency, _value(amount))))
    return found


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group()), text)


@dataclass(frozen=True)
class _Sources:
    text: str
    prices: frozenset[tuple[str, float]]
    measures: frozenset[tuple[float, str]]
    numbers: frozenset[float]

    @classmethod
    def read(cls, texts: Iterable[str]) -> _Sources:
        text = "\n".join(texts)
        measures = {
            (_value(m.group("n")), _UNITS[m.group("u").lower()]) for m in _WITH_UNIT.finditer(text)
        }
        numbers = {_value(m.group()) for m in _NUMBER.finditer(text)}
        numbers |= {v for v, _ in measures}
        return cls(
            text=text.lower(),
            prices=frozenset(p for _, p in _prices(text)),
            measures=frozenset(measures),
            numbers=frozenset(numbers),
        )


def unsupported_items(
    answer: str,
    sources: Sequence[str],
    conversation: Sequence[str] = (),
    product_names: Iterable[str] = (),
) -> list[str]:
    """Return the checkable items of an answer that neither the sources nor the turns hold.

    Args:
        answer: The answer that was sent.
        sources: The texts it was written from (passages, their titles and links).
        conversation: The conversation's texts before the answer.
        product_names: Known product names.

    Returns:
        The unbacked items as the answer writes them, each once, in the order found.
    """
    known = _Sources.read([*sources, *conversation])
    found: list[str] = []
    rest = answer
    for m in _URL.finditer(answer):
        if _url(m.group()) not in known.text:
            found.append(m.group().rstrip(".,;:!?)"))
    rest = _blank(rest, _URL)
    for name in product_names:
        name = name.strip()
        if not name:
            continue
        pattern = re.compile(r"(?i)(?<!\w)" + re.escape(name) + r"(?!\w)")
        match = pattern.search(rest)
        if match and not pattern.search(known.text):
            found.append(match.group())
        rest = _blank(rest, pattern)
    for written, price in _prices(rest):
        if price not in known.prices:
            found.append(written)
    rest = _blank(rest, _PRICE)
    for m in _WITH_UNIT.finditer(rest):
        if not m.group("n")[0].isdigit():
            continue
        if (_value(m.group("n")), _UNITS[m.group("u").lower()]) not in known.measures:
            found.append(m.group())
    rest = _blank(rest, _WITH_UNIT)
    for m in _NUMBER.finditer(rest):
        if _value(m.group()) not in known.numbers:
            found.append(m.group())
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class AnswerRecord:
    """One answer of an evaluation run, with what it may rely on.

    Attributes:
        answer: The text the system produced.
        sources: The passages (with titles and links) it was given.
        conversation: The conversation's texts before it.
        product_names: Known product names.
        sent: Whether it went out (an answer the gate stopped is not counted).
    """

    answer: str
    sources: tuple[str, ...] = ()
    conversation: tuple[str, ...] = ()
    product_names: tuple[str, ...] = ()
    sent: bool = True


def unsupported_rate(records: Iterable[AnswerRecord]) -> float:
    """Return the share of sent answers with at least one unsupported item.

    Args:
        records: The evaluated answers.

    Returns:
        A share in [0, 1]; 0.0 when nothing was sent.
    """
    sent = 0
    unsupported = 0
    for record in records:
        if not record.sent:
            continue
        sent += 1
        items = unsupported_items(
            record.answer, record.sources, record.conversation, record.product_names
        )
        unsupported += bool(items)
    return unsupported / sent if sent else 0.0
