"""Ingest: read support transcripts in many formats into one normalised model.

Typical use::

    report = IngestReport()
    for conversation in read_conversations(Path("exports"), report=report):
        ...
    report.summary()  # counts by reason, safe to log
"""

from training.ingest.detect import FORMATS, detect_format
from training.ingest.model import (
    REASONS,
    Conversation,
    CsvMapping,
    IngestOptions,
    IngestReport,
    Rejection,
    Role,
    TaskmasterMapping,
    Turn,
)
from training.ingest.reader import read_conversations

__all__ = [
    "FORMATS",
    "REASONS",
    "Conversation",
    "CsvMapping",
    "IngestOptions",
    "IngestReport",
    "Rejection",
    "Role",
    "TaskmasterMapping",
    "Turn",
    "detect_format",
    "read_conversations",
]
