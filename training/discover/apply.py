"""Turn a reviewed ``intents_proposed.yml`` into Rasa NLU training data (``version: "3.1"``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from training.discover.proposals import (
    Member,
    ProposalError,
    Proposals,
    load_proposals,
    read_members,
)
from training.rasa_yaml import check_nlu, example_text, nlu_yaml

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyResult:
    """What :func:`apply_file` wrote.

    Attributes:
        out: The NLU file.
        intents: Examples per intent.
        dropped: Distinct texts left out (dropped clusters and unclustered).
    """

    out: Path
    intents: dict[str, int]
    dropped: int


def intent_of_cluster(proposals: Proposals) -> dict[int, str]:
    """Map each cluster that reaches the training data to its intent.

    Kept clusters map to their own name, merged ones to their target's; dropped clusters
    are absent. The proposals must have been validated (:func:`load_proposals` does).
    """
    kept = {c.name: c for c in proposals.clusters if c.action == "keep"}
    mapping: dict[int, str] = {}
    for c in proposals.clusters:
        if c.action == "keep":
            mapping[c.id] = c.name
        elif c.action == "merge" and c.merge_into in kept:
            mapping[c.id] = c.merge_into
    return mapping


def build_intents(
    proposals: Proposals, members: Iterable[Member]
) -> tuple[dict[str, list[str]], int]:
    """Collect each intent's examples.

    Args:
        proposals: Validated proposals.
        members: The members file's records.

    Returns:
        Examples per intent (in the proposals' order, each text once) and the number of
        distinct texts left out.

    Raises:
        ProposalError: If a kept or merged cluster has no members (the members file does
            not belong to the proposals).
    """
    mapping = intent_of_cluster(proposals)
    intents: dict[str, list[str]] = {c.name: [] for c in proposals.clusters if c.action == "keep"}
    seen: set[str] = set()
    dropped = 0
    used: set[int] = set()
    listed = {c.id for c in proposals.clusters}
    unlisted: set[int] = set()
    for m in members:
        if m.cluster >= 0 and m.cluster not in listed:
            unlisted.add(m.cluster)
        intent = mapping.get(m.cluster)
        text = example_text(m.text)
        if intent is None or not text or text in seen:
            dropped += 1
            continue
        seen.add(text)
        used.add(m.cluster)
        intents[intent].append(text)
    if unlisted:
        logger.warning("%d cluster(s) missing from the proposals were left out", len(unlisted))
    missing = [c for c in proposals.clusters if c.id in mapping and c.id not in used]
    if missing:
        raise ProposalError(
            Path(proposals.members_file),
            [f"line {c.line}: cluster {c.id} has no members in the members file" for c in missing],
        )
    return intents, dropped


def apply_file(
    proposals_path: Path, out: Path, members_path: Path | None = None, *, min_examples: int = 2
) -> ApplyResult:
    """Apply a reviewed proposals file and write Rasa NLU YAML.

    Args:
        proposals_path: The reviewed ``intents_proposed.yml``.
        out: The NLU file to write (e.g. ``data/nlu/discovered.yml``).
        members_path: The members file; default: the one the proposals name, relative to
            the proposals file.
        min_examples: Rasa's classifiers need at least this many examples per intent.

    Returns:
        What was written.

    Raises:
        ProposalError: If the review file is invalid (every problem with its line).
        TrainingDataError: If the members file is missing or malformed, an intent ends up
            with too few examples, or Rasa cannot read the result.
    """
    proposals = load_proposals(proposals_path)
    members_path = members_path or proposals_path.parent / proposals.members_file
    intents, dropped = build_intents(proposals, read_members(members_path))
    lines = {c.name: c.line for c in proposals.clusters if c.action == "keep"}
    thin = [name for name, examples in intents.items() if len(examples) < min_examples]
    if thin:
        raise ProposalError(
            proposals_path,
            [
                f"line {lines[name]}: intent {name!r} has {len(intents[name])} example(s); "
                f"Rasa needs at least {min_examples}: merge or drop it"
                for name in thin
            ],
        )
    text = nlu_yaml(intents)
    check_nlu(text, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    counts = {name: len(examples) for name, examples in intents.items()}
    logger.info("wrote %d intents (%d examples) to %s", len(counts), sum(counts.values()), out)
    return ApplyResult(out, counts, dropped)
