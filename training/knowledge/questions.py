"""The knowledge question set (``data/knowledge_questions/questions.jsonl``) and its halves.

One JSON object per line: ``id``, ``question``, ``article`` (the answering source, relative
to the knowledge folder, or null), ``answer`` (the reference answer, or null),
``answerable`` and ``split`` (``dev`` or ``test``; see the set's README). Training may read
the development half only: :func:`training_questions` refuses the test half.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from common.errors import ConfigError, TrainingDataError

TRAINING_SPLIT = "dev"
HELD_OUT_SPLIT = "test"
SPLITS = (TRAINING_SPLIT, HELD_OUT_SPLIT)


@dataclass(frozen=True)
class KnowledgeQuestion:
    """One question of the set.

    Attributes:
        id: Stable id (``kq-0001``).
        question: The customer's message.
        article: The source that answers it, or None when unanswerable.
        answer: The reference answer, or None when unanswerable.
        answerable: Whether the help centre answers it.
        split: ``dev`` or ``test``.
    """

    id: str
    question: str
    article: str | None
    answer: str | None
    answerable: bool
    split: str


def _question(data: object) -> KnowledgeQuestion:
    if not isinstance(data, dict):
        raise TrainingDataError("a question must be a JSON object")
    for key in ("id", "question", "split"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise TrainingDataError(f"'{key}' must be a non-empty string")
    if data["split"] not in SPLITS:
        raise TrainingDataError(f"'split' must be one of {', '.join(SPLITS)}")
    if not isinstance(data.get("answerable"), bool):
        raise TrainingDataError("'answerable' must be true or false")
    article, answer = data.get("article"), data.get("answer")
    if data["answerable"] and not (isinstance(article, str) and isinstance(answer, str)):
        raise TrainingDataError("an answerable question needs an 'article' and an 'answer'")
    return KnowledgeQuestion(
        id=data["id"],
        question=data["question"].strip(),
        article=article if isinstance(article, str) else None,
        answer=answer.strip() if isinstance(answer, str) else None,
        answerable=data["answerable"],
        split=data["split"],
    )


def read_questions(path: Path) -> list[KnowledgeQuestion]:
    """Read a question set (the one reader: answer-writer examples and the evaluation).

    Args:
        path: The JSONL file.

    Returns:
        The questions, in file order (blank lines skipped).

    Raises:
        TrainingDataError: If the file is missing or unreadable, a line is not a valid
            question, or an id repeats (the message names the line).
    """
    if not path.is_file():
        raise TrainingDataError(f"no question set at {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise TrainingDataError(f"cannot read questions from {path}: {e}") from e
    questions: list[KnowledgeQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            question = _question(json.loads(line))
        except json.JSONDecodeError as e:
            raise TrainingDataError(f"{path}:{number}: not valid JSON ({e.msg})") from e
        except TrainingDataError as e:
            raise TrainingDataError(f"{path}:{number}: {e.message}") from e
        if question.id in seen:
            raise TrainingDataError(f"{path}:{number}: duplicate id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    return questions


def check_training_split(split: str) -> None:
    """Refuse every split but the development half for training.

    Args:
        split: The requested split.

    Raises:
        ConfigError: For ``test`` (held out: reported, never trained or tuned on) or an
            unknown split.
    """
    if split == HELD_OUT_SPLIT:
        raise ConfigError(
            "the question set's test half is held out: it is reported once and never "
            "trained or tuned on; use --split dev"
        )
    if split != TRAINING_SPLIT:
        raise ConfigError(f"unknown question split {split!r}; only {TRAINING_SPLIT!r} is allowed")


def training_questions(
    questions: Iterable[KnowledgeQuestion], split: str = TRAINING_SPLIT
) -> list[KnowledgeQuestion]:
    """Return the questions of the development half, refusing any other.

    Args:
        questions: The whole set.
        split: The half asked for; only ``dev`` is accepted.

    Returns:
        The dev questions, in order.

    Raises:
        ConfigError: If ``split`` is not ``dev``.
    """
    check_training_split(split)
    return [q for q in questions if q.split == TRAINING_SPLIT]
