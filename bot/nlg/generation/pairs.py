"""Generation pairs: what a customer wrote, the turns before it, and what the agent replied.

One JSON object per line (the transcripts pipeline writes the same format)::

    {"conversation_id": "c-17", "channel": "web",
     "context": [{"role": "customer", "text": "..."}, {"role": "agent", "text": "..."}],
     "customer": "do your tents come with a footprint?",
     "agent": "Most of our tents don't include one, but ...",
     "intent": "product_question"}

Texts are already PII-redacted (``[EMAIL_1]``, ``[ORDER_1]``, ...).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.conversation import HUMAN_ROLES, Role, Turn, parse_role
from common.errors import TrainingDataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationPair:
    """A customer message with the agent's reply and the turns before it.

    Attributes:
        conversation_id: The conversation it comes from.
        channel: The channel it was written on, if known.
        context: The last turns before the customer's message, oldest first (roles
            customer and agent; only role and text are kept).
        customer: The customer's message.
        agent: The agent's reply: the training target.
        intent: The intent label, if known.
    """

    conversation_id: str
    channel: str | None
    context: tuple[Turn, ...]
    customer: str
    agent: str
    intent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the pair as the JSON object of a JSONL line."""
        return {
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "context": [{"role": t.role.value, "text": t.text} for t in self.context],
            "customer": self.customer,
            "agent": self.agent,
            "intent": self.intent,
        }

    def to_json(self) -> str:
        """Return the pair as one JSONL line (no newline): the one place the layout is written."""
        return json.dumps(self.to_dict(), ensure_ascii=False)


def turns_from(turns: Iterable[tuple[Role | str, str]]) -> tuple[Turn, ...]:
    """Turn ``(role, text)`` tuples whose roles are already ``customer``/``agent`` into turns.

    For pairs built by this project's own code (the transcripts pipeline, the inbox);
    :func:`pair_from_dict` validates roles from files instead.

    Args:
        turns: The earlier messages, oldest first.

    Returns:
        The turns.
    """
    return tuple(Turn(parse_role(role), text) for role, text in turns)


def pair_from_dict(data: Mapping[str, Any]) -> GenerationPair:
    """Validate one JSON object and turn it into a pair.

    Args:
        data: The decoded JSON object.

    Returns:
        The pair.

    Raises:
        TrainingDataError: If a field is missing or has the wrong type.
    """
    if not isinstance(data, Mapping):
        raise TrainingDataError("a generation pair must be a JSON object")
    for key in ("customer", "agent"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise TrainingDataError(f"'{key}' must be a non-empty string")
    conversation_id = data.get("conversation_id")
    if not isinstance(conversation_id, str | int):
        raise TrainingDataError("'conversation_id' must be a string")
    channel = data.get("channel")
    intent = data.get("intent")
    if channel is not None and not isinstance(channel, str):
        raise TrainingDataError("'channel' must be a string or null")
    if intent is not None and not isinstance(intent, str):
        raise TrainingDataError("'intent' must be a string or null")
    raw_context = data.get("context") or []
    if not isinstance(raw_context, list):
        raise TrainingDataError("'context' must be a list of turns")
    context = []
    for turn in raw_context:
        if (
            not isinstance(turn, Mapping)
            or not isinstance(turn.get("role"), str)
            or turn["role"] not in HUMAN_ROLES
            or not isinstance(turn.get("text"), str)
        ):
            raise TrainingDataError(
                'each context turn must be {"role": "customer"|"agent", "text": str}'
            )
        context.append(Turn(Role(turn["role"]), turn["text"]))
    return GenerationPair(
        conversation_id=str(conversation_id),
        channel=channel,
        context=tuple(context),
        customer=data["customer"].strip(),
        agent=data["agent"].strip(),
        intent=intent,
    )


def read_pairs(path: Path) -> list[GenerationPair]:
    """Read a generation pairs JSONL file.

    Blank lines are skipped.

    Args:
        path: The file.

    Returns:
        The pairs, in file order.

    Raises:
        TrainingDataError: If the file is missing or a line is not a valid pair (the
            message names the line).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise TrainingDataError(f"cannot read generation pairs from {path}: {e}") from e
    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            pairs.append(pair_from_dict(json.loads(line)))
        except json.JSONDecodeError as e:
            raise TrainingDataError(f"{path}:{number}: not valid JSON ({e.msg})") from e
        except TrainingDataError as e:
            raise TrainingDataError(f"{path}:{number}: {e.message}") from e
    logger.debug("Read %d generation pairs from %s.", len(pairs), path)
    return pairs


def write_pairs(pairs: Iterable[GenerationPair], path: Path) -> None:
    """Write pairs as JSONL (one object per line).

    Args:
        pairs: The pairs.
        path: The file to write.
    """
    path.write_text("".join(p.to_json() + "\n" for p in pairs), encoding="utf-8")


def file_fingerprint(path: Path) -> str:
    """Return the SHA-256 of a file's content, or ``"missing"`` when there is no file.

    Args:
        path: The file.

    Returns:
        A hex digest.
    """
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"
