"""Consistent fake values instead of placeholders: a name for a name, a phone for a phone.

With ``RedactionConfig(replacement="pseudonym")`` a conversation reads naturally
("Hi Megan, I'll call +44 7700 900123") while every value is fake, so a model trained on it
learns the shape of a reply and never a customer's data. Within one session (one
conversation) the same value always gets the same fake; sessions draw from independent
random seeds, so fakes cannot be linked across conversations.

Fakes come from Faker (names, streets, IBANs with valid checksums) or from ranges reserved
for fiction and testing: Ofcom's drama numbers ``+44 7700 900xxx``, the North American
``555-01xx``, the ``example.com`` domain (RFC 2606) and the card networks' published test
numbers. Like :class:`~common.privacy.redactor.PlaceholderSession`, a session remembers
values only as keyed hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter
from typing import TYPE_CHECKING

from common.errors import ConfigError, ModelPackageMissingError

if TYPE_CHECKING:
    from faker import Faker

# Published test numbers of the card networks (Visa, Mastercard, Amex, Discover), Luhn-valid.
TEST_CARDS: tuple[str, ...] = (
    "4111 1111 1111 1111",
    "5555 5555 5555 4444",
    "4012 8888 8888 1881",
    "5105 1051 0510 5100",
    "3782 822463 10005",
    "6011 1111 1111 1117",
)
_PURPOSE = "PII pseudonyms (Faker)"


def make_faker(locale: str, seed: int | None = None) -> Faker:
    """Return a seeded Faker for ``locale``.

    Raises:
        ConfigError: If the locale is unknown to Faker.
        ModelPackageMissingError: If Faker is not installed.

    """
    try:
        from faker import Faker
        from faker.config import AVAILABLE_LOCALES
    except ImportError as e:
        raise ModelPackageMissingError("faker", _PURPOSE) from e
    if locale not in AVAILABLE_LOCALES:
        raise ConfigError(f"unknown pseudonym locale {locale!r} (Faker locales, e.g. en_GB)")
    faker = Faker(locale)
    faker.seed_instance(secrets.randbits(64) if seed is None else seed)
    return faker


class PseudonymSession:
    """Gives each distinct value of one conversation its own consistent fake value.

    Args:
        locale: Faker locale for names and addresses, e.g. ``en_GB``.
        seed: Fixed seed (tests); default: a random one per session.

    """

    def __init__(self, locale: str = "en_GB", seed: int | None = None) -> None:
        self._faker = make_faker(locale, seed)
        self._key = secrets.token_bytes(32)
        self._values: dict[bytes, str] = {}
        self._counters: Counter[str] = Counter()

    def placeholder(self, pii_type: str, value: str, surface: str = "") -> str:
        """Return the fake value for a (normalised) value, making a new one when unseen.

        Args:
            pii_type: The PII type, e.g. ``PERSON``.
            value: The value, normalised so that equal values compare equal.
            surface: The value as written; gives the fake its shape (lower case, one or
                two words). Not kept.

        Returns:
            A fake value of the same type, never equal to ``value``.

        """
        digest = hmac.new(self._key, f"{pii_type}\0{value}".encode(), hashlib.sha256).digest()
        fake = self._values.get(digest)
        if fake is None:
            self._counters[pii_type] += 1
            taken = set(self._values.values())
            for _ in range(20):
                fake = self._make(pii_type, surface or value, value, self._counters[pii_type])
                if fake.casefold() != (surface or value).casefold() and fake not in taken:
                    break
                self._counters[pii_type] += 1
            assert fake is not None
            self._values[digest] = fake
        return fake

    def reserve(self, pii_type: str, number: int) -> None:
        """Placeholders already in a text need no reservation here (fakes are not numbered)."""

    def _make(self, pii_type: str, surface: str, value: str, n: int) -> str:
        f = self._faker
        if pii_type == "PERSON":
            words = surface.split()
            name = f.first_name() if len(words) <= 1 else f"{f.first_name()} {f.last_name()}"
            return name.lower() if surface.islower() else name
        if pii_type == "EMAIL":
            return f"{f.first_name()}.{f.last_name()}{n}@example.com".lower().replace(" ", "")
        if pii_type == "PHONE":
            if value.startswith("+1"):  # the key is E.164: North America
                return f"(202) 555-01{n % 100:02d}"
            return f"+44 7700 900{n % 1000:03d}"
        if pii_type == "CARD":
            return TEST_CARDS[(n - 1) % len(TEST_CARDS)]
        if pii_type == "IBAN":
            return str(f.iban())
        if pii_type == "ORDER_ID":
            return f"PC-{f.random_number(digits=6, fix_len=True)}"
        if pii_type == "ACCOUNT_ID":
            return f"ACC-{f.random_number(digits=8, fix_len=True)}"
        if pii_type == "URL":
            return f"https://example.com/link?token={secrets.token_hex(10)}"
        if pii_type == "ADDRESS":
            return ", ".join(str(f.address()).splitlines())
        return f"[{pii_type}_{n}]"
