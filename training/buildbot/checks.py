"""Bad input, found before any redaction: each problem named with its file and record.

A first pass reads the transcripts' structure only (no redaction, no model) and stops the
build with a :class:`~common.errors.TrainingDataError` that names the file and the
conversation for:

- transcripts in which no customer turn is ever answered by an agent (nothing to mine);
- conflicting labels: one customer text under two intents (unless ``drop_conflicts``);

The intent counts are checked after labelling (:func:`check_intents`): a bot needs at
least two intents, and an intent with a single example cannot be learned (unless
``drop_thin``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import TrainingDataError
from training.ingest import IngestOptions, read_conversations
from training.prepare.dedupe import text_hash
from training.prepare.redact import pseudonymous_id
from training.rasa_yaml import example_text, intent_name

MAX_LISTED = 5


@dataclass
class InputSummary:
    """What the structural pass found.

    Attributes:
        conversations: Conversations read.
        without_agent: Conversations with no agent turn after a customer turn.
        conflicts: ``file, conversation id`` records whose text another record labels
            differently, with both intents.

    """

    conversations: int = 0
    without_agent: int = 0
    conflicts: list[str] = field(default_factory=list)


def _record(source: str, conversation_id: str) -> str:
    return f"{source}: conversation {pseudonymous_id(conversation_id)}"


def check_transcripts(
    path: Path, input_format: str, ingest: IngestOptions, *, drop_conflicts: bool
) -> InputSummary:
    """Read the transcripts' structure and stop on input no bot can be built from.

    Args:
        path: The transcripts (file or folder).
        input_format: ``auto`` or an ingest format.
        ingest: Ingest options.
        drop_conflicts: Report conflicting labels instead of stopping.

    Returns:
        The summary.

    Raises:
        TrainingDataError: No agent reply anywhere, or conflicting labels.

    """
    summary = InputSummary()
    first_without: list[str] = []
    label_of: dict[bytes, tuple[str, str]] = {}
    for conversation in read_conversations(path, input_format, ingest):
        summary.conversations += 1
        turns = conversation.turns
        answered = any(
            a.role == "customer" and b.role == "agent"
            for a, b in zip(turns, turns[1:], strict=False)
        )
        if not answered:
            summary.without_agent += 1
            if len(first_without) < MAX_LISTED:
                first_without.append(_record(conversation.source, conversation.id))
        for turn in turns:
            if turn.role != "customer" or not turn.intent:
                continue
            digest = text_hash(example_text(turn.text))
            label = intent_name(turn.intent)
            where = _record(conversation.source, conversation.id)
            earlier = label_of.setdefault(digest, (label, where))
            if earlier[0] != label:
                summary.conflicts.append(
                    f"{where} labels a text {label!r}; {earlier[1]} labels it {earlier[0]!r}"
                )
    if summary.conversations and summary.without_agent == summary.conversations:
        raise TrainingDataError(
            f"{path}: no customer message is answered by an agent in any of the "
            f"{summary.conversations} conversations (e.g. {'; '.join(first_without)}); "
            "build-bot mines the bot's responses from agents' replies"
        )
    if summary.conflicts and not drop_conflicts:
        raise TrainingDataError(
            f"{path}: {len(summary.conflicts)} conflicting label(s), the same customer text "
            "under two intents:\n  "
            + "\n  ".join(summary.conflicts[:MAX_LISTED])
            + "\nfix the labels, or pass --drop-conflicts to leave such texts out"
        )
    return summary


def check_intents(
    source: Path, examples: Mapping[str, Sequence[str]], *, drop_thin: bool
) -> tuple[dict[str, list[str]], list[str]]:
    """Stop on a single intent or on intents with one example.

    Args:
        source: Where the labels come from (transcripts or the reviewed proposals).
        examples: Intent -> examples.
        drop_thin: Leave one-example intents out (reported) instead of stopping.

    Returns:
        The intents kept and the names of those dropped.

    Raises:
        TrainingDataError: Fewer than two intents, or a one-example intent (not dropped).

    """
    thin = sorted(i for i, texts in examples.items() if len(texts) < 2)
    if thin and not drop_thin:
        raise TrainingDataError(
            f"{source}: intent(s) with a single example, which no classifier can learn: "
            + ", ".join(thin[:20])
            + "; label more examples, merge them, or pass --drop-thin-intents"
        )
    kept = {i: list(t) for i, t in examples.items() if i not in thin}
    if len(kept) < 2:
        names = ", ".join(sorted(kept)) or "none"
        raise TrainingDataError(
            f"{source}: a bot needs at least two intents with two examples or more; "
            f"found {len(kept)} ({names})"
        )
    return kept, thin
