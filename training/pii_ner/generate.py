"""Generated, labelled messages for the name and address tagger: templates filled by Faker.

Each :class:`Example` is a text and its PERSON / ADDRESS character spans. Names come from
Faker's person providers of many locales (romanised for Japanese and Chinese), addresses
from its address providers in each country's own form (and hand-made short forms such as
"22 baker st"), decoys (places, organisations, products, nationalities, field labels,
foreign salutations) from the lists in :mod:`training.pii_ner.templates`; the decoys are
never labelled. Casing varies per example: as written, all lower case (chat), all upper
case, or only the names lower case. Everything is drawn from one seeded generator, so the
same seed gives the same examples in one process (across processes only for a fixed
``PYTHONHASHSEED``: some of Faker's city decoys are drawn in set order).

Two kinds of noise teach the tagger what is *not* a name, beyond the decoy lists:

- **typos**: in about a third of the examples, some words outside the labelled spans are
  misspelt (a letter dropped, doubled, swapped or replaced, or two words run together, as
  "uhelp" or "needassistance"), because an unknown word-piece sequence alone must not read
  as a rare name;
- **things**: the ``{thing}`` slot takes a noun from the packaged English model's
  lemmatizer tables (WordNet's nouns, first names removed), in any case, where a product
  or an item stands ("can I get a Cortado", "the Gossamer arrived torn").

Templates are split by position into a training and a held-out group
(:func:`split_templates`), so that development scores are measured on sentence shapes the
model never saw.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from faker import Faker

from common.errors import ModelPackageMissingError
from common.privacy.gazetteer import first_names, last_names
from common.privacy.names import lemmatizer_lookups
from training.pii_ner.templates import (
    ADDRESS_TEMPLATES,
    BRANDS,
    CHAT,
    DAYS,
    DECOY_TEMPLATES,
    FOREIGN,
    GREETINGS,
    LABELS,
    NATIONALITIES,
    ORGS,
    PERSON_TEMPLATES,
    PRODUCTS,
    SENTENCES,
    SIGNOFFS,
    TITLES,
)

LABELLED_TYPES: tuple[str, ...] = ("PERSON", "ADDRESS")
# Locales whose person names are in Latin script (Japanese and Chinese: romanised).
NAME_LOCALES: tuple[str, ...] = (
    "en_GB", "en_US", "en_IN", "en_IE", "en_NG", "de_DE", "de_AT", "fr_FR", "nl_NL", "es_ES",
    "es_MX", "it_IT", "pl_PL", "pt_BR", "tr_TR", "yo_NG", "zu_ZA", "sv_SE", "ga_IE", "tw_GH",
    "sw", "cs_CZ", "ro_RO", "vi_VN", "fi_FI", "da_DK", "ja_JP", "zh_CN",
)  # fmt: skip
_ROMANISED = frozenset(("ja_JP", "zh_CN"))
ADDRESS_LOCALES: tuple[str, ...] = (
    "en_GB", "en_US", "de_DE", "nl_NL", "fr_FR", "es_ES", "it_IT", "en_IN", "en_IE", "de_AT",
)  # fmt: skip
_SLOT_RE = re.compile(r"\{(\w+)\}")
_PERSON_SLOTS = frozenset(("first", "first2", "full", "full2", "last"))
_ADDRESS_SLOTS = frozenset(("addr", "street"))
_GB_SUFFIXES = ("st", "rd", "ave", "ln", "Street", "Road", "Lane", "Close", "Way", "Drive")
_US_SUFFIXES = ("St", "Ave", "Blvd", "Rd", "Dr", "Street", "Avenue", "Ct", "Pl")
_US_UNITS = ("Apt 4B", "Apt. 12", "Suite 200", "Unit 7", "#3")
TYPO_EXAMPLES = 0.35  # share of examples with misspelt words
TYPO_WORDS = 0.15  # share of words misspelt in such an example
_WORD_RE = re.compile(r"[A-Za-z]{3,}")
_KEYS = "qwertyuiopasdfghjklzxcvbnm"


@functools.cache
def thing_nouns() -> tuple[str, ...]:
    """WordNet nouns of 4 to 12 letters from the packaged spaCy model, no first or last names.

    Raises:
        ModelPackageMissingError: When the spaCy model or its lemmatizer tables are missing.

    """
    from spacy.strings import hash_string  # type: ignore[attr-defined]

    try:
        nouns = lemmatizer_lookups().get_table("lemma_index")[hash_string("noun")]
    except (OSError, KeyError, ValueError) as e:
        raise ModelPackageMissingError("en_core_web_sm", f"PII tagger training data ({e})") from e
    people = first_names() | last_names()
    return tuple(
        sorted(
            w
            for w in nouns
            if isinstance(w, str) and w.isalpha() and 4 <= len(w) <= 12 and w not in people
        )
    )


@dataclass(frozen=True)
class Example:
    """One labelled text.

    Attributes:
        text: The message.
        spans: ``(start, end, type)`` character spans, type in :data:`LABELLED_TYPES`.

    """

    text: str
    spans: tuple[tuple[int, int, str], ...]


def split_templates(templates: Sequence[str], held_out: bool, every: int = 5) -> list[str]:
    """Every ``every``-th template (from the third) is held out for development.

    Args:
        templates: The templates of one group.
        held_out: Return the held-out part instead of the training part.
        every: One in ``every`` templates is held out.

    Returns:
        The chosen templates, in their order.

    """
    return [t for i, t in enumerate(templates) if (i % every == 2) == held_out]


class ExampleGenerator:
    """Fills templates with fake names, addresses and decoys.

    Args:
        seed: Seed of every random choice (Python's ``random`` and Faker's).
        typo_examples: Share of examples whose unlabelled words get misspelt.

    """

    def __init__(self, seed: int, typo_examples: float = TYPO_EXAMPLES) -> None:
        self._rng = random.Random(seed)
        self._seed = seed
        self._typo_examples = typo_examples

    @functools.cached_property
    def _fakers(self) -> dict[str, Faker]:
        fakers = {}
        for i, locale in enumerate(sorted(set(NAME_LOCALES) | set(ADDRESS_LOCALES))):
            faker = Faker(locale)
            faker.seed_instance(self._seed * 1000 + i)
            fakers[locale] = faker
        return fakers

    def _first(self) -> str:
        locale = self._rng.choice(NAME_LOCALES)
        faker = self._fakers[locale]
        name = faker.first_romanized_name() if locale in _ROMANISED else faker.first_name()
        if self._rng.random() < 0.05:  # hyphenated first names: one span
            name = f"{name}-{self._fakers['fr_FR'].first_name()}"
        return str(name).split()[0] if " " in str(name) and self._rng.random() < 0.5 else name

    def _last(self) -> str:
        locale = self._rng.choice(NAME_LOCALES)
        faker = self._fakers[locale]
        return str(faker.last_romanized_name() if locale in _ROMANISED else faker.last_name())

    def _street(self) -> str:
        locale = self._rng.choice(ADDRESS_LOCALES)
        faker = self._fakers[locale]
        if locale in ("en_GB", "en_IE"):
            word = faker.last_name() if self._rng.random() < 0.5 else faker.street_name().split()[0]
            return f"{faker.building_number()} {word} {self._rng.choice(_GB_SUFFIXES)}"
        if locale == "en_US":
            return f"{faker.building_number()} {faker.last_name()} {self._rng.choice(_US_SUFFIXES)}"
        return str(faker.street_address())

    def _address(self) -> str:
        locale = self._rng.choice(ADDRESS_LOCALES)
        faker = self._fakers[locale]
        r = self._rng.random()
        if locale in ("en_GB", "en_IE") and r < 0.6:
            street = f"{faker.building_number()} {faker.street_name()}"
            if r < 0.2:
                street = f"Flat {self._rng.randint(1, 30)}, {street}"
            sep = self._rng.choice((", ", " ", ",\n"))
            return f"{street}{sep}{faker.city()}{self._rng.choice((' ', ', '))}{faker.postcode()}"
        if locale == "en_US" and r < 0.6:
            unit = f" {self._rng.choice(_US_UNITS)}" if r < 0.2 else ""
            return (
                f"{faker.building_number()} {faker.last_name()} {self._rng.choice(_US_SUFFIXES)}"
                f"{unit}, {faker.city()}, {faker.state_abbr()} {faker.zipcode()}"
            )
        if locale in ("de_DE", "de_AT") and r < 0.5:
            street = self._rng.choice(
                (faker.street_name(), f"Am {faker.last_name()}berg", f"{faker.last_name()}weg")
            )
            return f"{street} {faker.building_number()}, {faker.postcode()} {faker.city()}"
        joiner = self._rng.choice((", ", ",\n", " "))
        return str(faker.address()).replace("\n", joiner)

    def _decoy(self, slot: str) -> str | None:
        faker = self._fakers[self._rng.choice(ADDRESS_LOCALES)]
        choices: dict[str, Callable[[], str]] = {
            "city": faker.city,
            "city2": faker.city,
            "country": faker.country,
            "company": faker.company,
            "org": lambda: self._rng.choice(ORGS),
            "brand": lambda: self._rng.choice(BRANDS),
            "product": lambda: self._rng.choice(PRODUCTS),
            "nat": lambda: self._rng.choice(NATIONALITIES),
            "label": lambda: self._rng.choice(LABELS),
            "foreign": lambda: self._rng.choice(FOREIGN),
            "day": lambda: self._rng.choice(DAYS),
            "hi": lambda: self._rng.choice(GREETINGS),
            "bye": lambda: self._rng.choice(SIGNOFFS),
            "title": lambda: self._rng.choice(TITLES),
            "chat": lambda: self._rng.choice(CHAT),
            "sentence": lambda: self._rng.choice(SENTENCES),
            "phone": faker.phone_number,
            "order": lambda: f"PC-{self._rng.randint(100000, 999999)}",
            "thing": self._thing,
            "thing2": self._thing,
        }
        make = choices.get(slot)
        return str(make()) if make else None

    def _thing(self) -> str:
        word = self._rng.choice(thing_nouns())
        return word.capitalize() if self._rng.random() < 0.5 else word

    def _misspell(self, word: str) -> str:
        i = self._rng.randrange(1, len(word))
        edit = self._rng.randrange(4)
        if edit == 0:  # dropped
            return word[:i] + word[i + 1 :]
        if edit == 1:  # doubled (i < len(word) always)
            return word[:i] + word[i] + word[i:]
        if edit == 2 and i < len(word) - 1:  # swapped
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        return word[:i] + self._rng.choice(_KEYS) + word[i + 1 :]  # replaced

    def _noisy(self, piece: str) -> str:
        """Misspell some words of an unlabelled piece; runs two words together at times."""
        out = _WORD_RE.sub(
            lambda m: self._misspell(m.group()) if self._rng.random() < TYPO_WORDS else m.group(),
            piece,
        )
        inner = [m.start() for m in re.finditer(r"(?<=[a-z]) (?=[a-z])", out)]
        if inner and self._rng.random() < 0.3:
            k = self._rng.choice(inner)
            out = out[:k] + out[k + 1 :]
        return out

    def fill(self, template: str) -> Example:
        """Fill one template.

        Args:
            template: Text with ``{slot}`` markers (see :mod:`training.pii_ner.templates`).

        Returns:
            The text and its spans.

        Raises:
            KeyError: On an unknown slot.

        """
        casing = self._rng.choices(("asis", "lower", "upper", "names"), (0.55, 0.3, 0.05, 0.1))[0]
        typos = self._rng.random() < self._typo_examples

        def cased(piece: str, labelled: bool) -> str:
            if casing == "lower" or (casing == "names" and labelled):
                return piece.lower()
            if casing == "upper":
                return piece.upper()
            return piece

        parts: list[str] = []
        spans: list[tuple[int, int, str]] = []
        pos = 0
        last = 0
        for m in _SLOT_RE.finditer(template):
            literal = cased(template[last : m.start()], False)
            if typos:
                literal = self._noisy(literal)
            parts.append(literal)
            pos += len(literal)
            slot = m.group(1)
            if slot in _PERSON_SLOTS:
                value = {
                    "first": self._first,
                    "first2": self._first,
                    "last": self._last,
                    "full": lambda: f"{self._first()} {self._last()}",
                    "full2": lambda: f"{self._first()} {self._last()}",
                }[slot]()
                pii_type: str | None = "PERSON"
            elif slot in _ADDRESS_SLOTS:
                value = self._address() if slot == "addr" else self._street()
                pii_type = "ADDRESS"
            else:
                decoy = self._decoy(slot)
                if decoy is None:
                    raise KeyError(f"unknown template slot {slot!r}")
                value, pii_type = decoy, None
            value = cased(" ".join(value.split(" ")), pii_type is not None)
            if typos and pii_type is None:
                value = self._noisy(value)
            if pii_type is not None:
                spans.append((pos, pos + len(value), pii_type))
            parts.append(value)
            pos += len(value)
            last = m.end()
        tail = cased(template[last:], False)
        parts.append(self._noisy(tail) if typos else tail)
        return Example("".join(parts), tuple(spans))

    def examples(self, count: int, held_out: bool = False) -> list[Example]:
        """Generate ``count`` examples: 55% names, 17% addresses, 28% decoys only.

        Args:
            count: How many.
            held_out: Use the held-out templates (development) instead of the training ones.

        Returns:
            The examples.

        """
        groups = [
            (split_templates(PERSON_TEMPLATES, held_out), 0.55),
            (split_templates(ADDRESS_TEMPLATES, held_out), 0.17),
            (split_templates(DECOY_TEMPLATES, held_out), 0.28),
        ]
        out = []
        for _ in range(count):
            templates = self._rng.choices([g for g, _ in groups], [w for _, w in groups])[0]
            out.append(self.fill(self._rng.choice(templates)))
        return out
