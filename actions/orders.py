"""Order look-up for the order-status action.

``OrderStore`` is the seam: the sample company reads a JSON order book; a real deployment
puts its order system's API behind the same protocol.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

ORDER_NUMBER = re.compile(r"\bpc[\s-]?(\d{6})\b", re.IGNORECASE)
DEFAULT_ORDER_BOOK = Path(__file__).parent / "data" / "orders.json"


@dataclass(frozen=True)
class Order:
    """What the bot may tell a customer about an order."""

    number: str
    status: str
    detail: str


class OrderStore(Protocol):
    """Finds orders by number."""

    def find(self, number: str) -> Order | None:
        """Return the order, or ``None`` when there is no such order."""
        ...


def normalise_order_number(raw: str | None) -> str | None:
    """Turn ``pc 123456``, ``PC123456`` or ``pc-123456`` into ``PC-123456``.

    Args:
        raw: What the customer typed, or ``None``.

    Returns:
        The canonical number, or ``None`` when ``raw`` holds none.
    """
    if not raw:
        return None
    match = ORDER_NUMBER.search(raw)
    return f"PC-{match.group(1)}" if match else None


class JsonOrderStore:
    """An order book in a JSON file: ``{"PC-123456": {"status": ..., "detail": ...}}``.

    Args:
        path: The file; defaults to ``$PINECREST_ORDER_BOOK`` or the sample book.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path(os.environ.get("PINECREST_ORDER_BOOK", DEFAULT_ORDER_BOOK))
        self._orders: dict[str, Order] | None = None

    def _load(self) -> dict[str, Order]:
        if self._orders is None:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self._orders = {
                number: Order(number, entry["status"], entry["detail"])
                for number, entry in raw.items()
            }
        return self._orders

    def find(self, number: str) -> Order | None:
        """Return the order with this canonical number, if any."""
        return self._load().get(number)
