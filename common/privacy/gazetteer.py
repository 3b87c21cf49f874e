"""First and last names of many countries, and common English words, from Faker's data.

Faker (a maintained package) ships person-name lists for about 85 locales and an English
word list. The name detector uses them to accept a lower-case name after a strong cue
("hi its deepa again"), to trust a proper noun that the small NER model labelled as a
place or missed, and to veto entities that are no name anywhere. Loading takes about
0.1 s, once, on first use.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterable

from common.errors import ModelPackageMissingError

_PURPOSE = "PII redaction (name lists and pseudonyms, Faker)"
_FIRST_NAME_ATTRS = (
    "first_names",
    "first_names_male",
    "first_names_female",
    "first_names_nonbinary",
)


def _values(data: object) -> Iterable[str]:
    """The names held by a provider attribute (a list, tuple, set or weighted dict)."""
    if isinstance(data, dict):
        return (str(k) for k in data)
    if isinstance(data, list | tuple | set | frozenset):
        return (str(v) for v in data)
    return ()


def _latin_word(name: str) -> bool:
    """Whether a name is written in Latin letters (with hyphens or apostrophes)."""
    return all((ch.isalpha() and ord(ch) < 0x250) or ch in "-'’" for ch in name)


@functools.cache
def _names() -> tuple[frozenset[str], frozenset[str]]:
    try:
        import faker.providers.person as person
    except ImportError as e:
        raise ModelPackageMissingError("faker", _PURPOSE) from e
    first: set[str] = set()
    last: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = getattr(
            importlib.import_module(f"{person.__name__}.{module.name}"), "Provider", None
        )
        if provider is None:
            continue
        for attr in _FIRST_NAME_ATTRS:
            first.update(n.casefold() for n in _values(getattr(provider, attr, None)))
        last.update(n.casefold() for n in _values(getattr(provider, "last_names", None)))
    return (
        frozenset(n for n in first if len(n) > 1 and _latin_word(n)),
        frozenset(n for n in last if len(n) > 1 and _latin_word(n)),
    )


def first_names() -> frozenset[str]:
    """Case-folded first names of all Faker locales written in Latin letters."""
    return _names()[0]


def last_names() -> frozenset[str]:
    """Case-folded last names of all Faker locales written in Latin letters."""
    return _names()[1]


@functools.cache
def english_words() -> frozenset[str]:
    """About a thousand common English words (Faker's ``en_US`` lorem list), case-folded."""
    try:
        from faker.providers.lorem.en_US import Provider
    except ImportError as e:
        raise ModelPackageMissingError("faker", _PURPOSE) from e
    return frozenset(w.casefold() for w in Provider.word_list)
