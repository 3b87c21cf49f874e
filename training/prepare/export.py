"""Write Rasa 3.x NLU YAML (``version: "3.1"``) that ``rasa data validate`` accepts.

Examples are written in a literal block, one ``- text`` line each, so every text is made
safe first (:func:`example_text`): one line, only characters YAML may hold, and no
``[text](entity)`` markup, which Rasa would otherwise read as an entity annotation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from rasa.shared.nlu.training_data.entities_parser import ENTITY_REGEX

RASA_VERSION = "3.1"
# Characters a YAML 1.2 stream may hold (ruamel's printable set), minus the BOM.
_NOT_PRINTABLE_RE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_MARKUP_RE = re.compile(ENTITY_REGEX.pattern)
_INTENT_BAD_RE = re.compile(r"[^\w.\-]+")


def example_text(text: str) -> str:
    """Make a text safe as one Rasa NLU example line.

    Non-printable characters are removed, all whitespace (line breaks included) collapses
    to single spaces, and a bracket followed by ``(``, ``{`` or ``[`` gets a space so that
    Rasa does not parse it as entity markup.

    Args:
        text: A redacted customer message.

    Returns:
        The example text (possibly empty).

    """
    cleaned = " ".join(_NOT_PRINTABLE_RE.sub("", text).split())
    while _MARKUP_RE.search(cleaned):
        cleaned = _MARKUP_RE.sub(lambda m: _break_markup(m.group(0)), cleaned)
    return cleaned


def _break_markup(markup: str) -> str:
    close = markup.index("]", 1)
    return markup[: close + 1] + " " + markup[close + 1 :]


def intent_name(label: str) -> str:
    """Return a label as a Rasa intent name: word characters, dots and dashes only.

    Args:
        label: The label from the source.

    Returns:
        The name, e.g. ``"Track Order!"`` becomes ``"Track_Order"``; empty if nothing is left.

    """
    return _INTENT_BAD_RE.sub("_", label.strip()).strip("_")


def nlu_yaml(examples: Mapping[str, Sequence[str]]) -> str:
    """Render intents and their examples as a Rasa NLU YAML document.

    Args:
        examples: Intent name to example texts (already safe); intents are written in
            sorted order, examples in the given order.

    Returns:
        The YAML text.

    """
    lines = [f'version: "{RASA_VERSION}"', "", "nlu:"]
    for intent in sorted(examples):
        texts = examples[intent]
        if not texts:
            continue
        lines.append(f"- intent: {json.dumps(intent)}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in texts)
    if len(lines) == 3:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n"
