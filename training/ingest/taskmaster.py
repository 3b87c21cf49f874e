"""Multi-turn JSON dialogues in the Taskmaster layout: a JSON array of dialogue objects."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

from training.ingest.model import (
    BAD_RECORD,
    EMPTY_TEXT,
    MISSING_FIELD,
    NO_TURNS,
    UNKNOWN_ROLE,
    Conversation,
    IngestOptions,
    IngestReport,
    TaskmasterMapping,
    Turn,
)
from training.ingest.streams import Problem, iter_json_array

logger = logging.getLogger(__name__)


def _dialogue(
    raw: object, mapping: TaskmasterMapping, source: str, location: str, report: IngestReport
) -> Conversation | None:
    """Map one dialogue, rejecting it (or single empty utterances) with a reason."""
    if not isinstance(raw, Mapping):
        report.reject(source, location, BAD_RECORD, "dialogue is not a JSON object")
        return None
    conv_id = raw.get(mapping.id_field)
    utterances = raw.get(mapping.turns_field)
    if not isinstance(conv_id, str) or not conv_id:
        report.reject(source, location, MISSING_FIELD, f"no {mapping.id_field!r}")
        return None
    if not isinstance(utterances, list):
        report.reject(source, location, MISSING_FIELD, f"no {mapping.turns_field!r} list")
        return None
    speakers = {key.lower(): role for key, role in mapping.speakers.items()}
    turns: list[Turn] = []
    for number, utterance in enumerate(utterances, start=1):
        if not isinstance(utterance, Mapping):
            report.reject(source, location, BAD_RECORD, f"utterance {number} is not an object")
            return None
        speaker = utterance.get(mapping.speaker_field)
        role = speakers.get(speaker.lower()) if isinstance(speaker, str) else None
        if role is None:
            report.reject(
                source, location, UNKNOWN_ROLE, f"utterance {number}: speaker not in mapping"
            )
            return None
        text = utterance.get(mapping.text_field)
        if not isinstance(text, str) or not text.strip():
            report.reject(source, f"{location}, utterance {number}", EMPTY_TEXT)
            continue
        turns.append(Turn(role, text.strip()))
    if not turns:
        report.reject(source, location, NO_TURNS, "no utterance with text")
        return None
    return Conversation(conv_id, mapping.channel, tuple(turns), source)


def read_taskmaster(
    path: Path, options: IngestOptions, report: IngestReport
) -> Iterator[Conversation]:
    """Stream conversations from a Taskmaster-style JSON array, one dialogue at a time.

    Args:
        path: The file.
        options: The mapping in ``options.taskmaster``; ``max_record_bytes`` bounds a
            dialogue.
        report: Receives the counts and rejections.

    Yields:
        Each valid dialogue as a conversation, in file order.
    """
    source = str(path)
    with path.open("rb") as stream:
        for number, item in enumerate(iter_json_array(stream, options.max_record_bytes), 1):
            report.read += 1
            location = f"dialogue {number}"
            if isinstance(item, Problem):
                report.reject(source, location, item.reason, item.detail)
                continue
            conversation = _dialogue(item, options.taskmaster, source, location, report)
            if conversation is not None:
                yield report.accept(conversation)
