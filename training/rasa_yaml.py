"""Rasa 3.x NLU YAML (``version: "3.1"``): the one writer that prepare, discover and feedback use.

It owns three things:

- :func:`example_text`: one escaping rule for every example. Rasa reads examples from a
  literal block, one ``- text`` line each, and parses ``[text](entity)``, ``[text]{...}`` and
  ``[text][...]`` in them as entity annotations. So a text becomes one line of characters
  YAML may hold, and only real entity markup (Rasa's own ``ENTITY_REGEX``) gets a space after
  its ``]``; every other text is kept as it is.
- :func:`intent_name` / :func:`is_intent_name`: intent names.
- :func:`nlu_yaml` / :func:`write_nlu`: the document, intents in sorted order, examples in
  the given order; :func:`check_nlu` reads a document back with Rasa's own reader.

The document is written line by line, not with a YAML dumper, so no dumper's global state
(``yaml.SafeDumper``'s representers) is ever touched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from rasa.shared.nlu.training_data.entities_parser import ENTITY_REGEX

from common.errors import TrainingDataError

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
    to single spaces, and a bracket followed by ``(``, ``{`` or ``[`` gets a space where
    Rasa would otherwise parse it as entity markup. Applying it twice changes nothing.

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


def is_intent_name(name: str) -> bool:
    """Whether a name can be written as it is (non-empty, and :func:`intent_name` keeps it).

    Args:
        name: The intent name.

    Returns:
        True if :func:`nlu_yaml` accepts it.

    """
    return bool(name) and intent_name(name) == name


def nlu_yaml(examples: Mapping[str, Iterable[str]]) -> str:
    """Render intents and their examples as a Rasa NLU YAML document.

    Every example goes through :func:`example_text` (a no-op for texts already cleaned);
    examples left empty and intents left without examples are not written.

    Args:
        examples: Intent name to example texts; intents are written in sorted order,
            examples in the given order.

    Returns:
        The YAML text.

    Raises:
        TrainingDataError: If an intent name is not one :func:`is_intent_name` accepts.

    """
    lines = [f'version: "{RASA_VERSION}"', "nlu:"]
    for intent in sorted(examples):
        if not is_intent_name(intent):
            raise TrainingDataError(f"{intent!r} is not a valid intent name")
        texts = [t for t in (example_text(x) for x in examples[intent]) if t]
        if not texts:
            continue
        lines.append(f"- intent: {json.dumps(intent, ensure_ascii=False)}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in texts)
    if len(lines) == 2:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n"


def write_nlu(path: Path, examples: Mapping[str, Iterable[str]]) -> str:
    """Write :func:`nlu_yaml` to a file (its folder is created).

    Args:
        path: The file.
        examples: Intent name to example texts.

    Returns:
        The text written.

    Raises:
        TrainingDataError: If an intent name is invalid.

    """
    text = nlu_yaml(examples)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return text


def check_nlu(text: str, source: Path) -> None:
    """Parse NLU YAML with Rasa's own reader.

    Args:
        text: The document.
        source: Where it is going (for the message).

    Raises:
        TrainingDataError: If Rasa rejects it.

    """
    from rasa.shared.exceptions import RasaException
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    try:
        RasaYAMLReader().reads(text)
    except (RasaException, ValueError) as e:
        raise TrainingDataError(f"{source}: Rasa cannot read the generated data: {e}") from e
