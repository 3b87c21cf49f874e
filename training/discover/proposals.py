"""The maintainer's review file, ``intents_proposed.yml``, and its members file.

``intents_proposed.yml`` lists each cluster with a proposed name, its size, key terms and
representative examples, and three editable fields: ``name``, ``action``
(``keep|merge|drop``) and ``merge_into``. Every member text (already redacted) is in the
members file next to it (``intents_members.jsonl``: one ``{"cluster", "text", "count"}`` per
line), so the review file stays short. Reading a reviewed file back reports every problem
with its line number.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from common.errors import TrainingDataError

logger = logging.getLogger(__name__)

ACTIONS = ("keep", "merge", "drop")
FORMAT_VERSION = 1
INTENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
HEADER = """\
# Intents proposed from unlabelled customer messages (python -m training discover).
#
# Review each cluster, then run:
#   python -m training apply-intents {file} --out data/nlu/discovered.yml
#   name:        the intent's name (letters, digits, underscores; unique among kept ones)
#   action:      keep  - an intent of its own, with every member as an example
#                merge - fold its members into the kept cluster named in merge_into
#                drop  - leave its members out of the training data
#   merge_into:  for action merge: the name of a kept cluster
# size, messages, key_terms and examples are for orientation; editing them changes nothing.
# All member texts are in the members file below; unclustered messages are never exported.
"""


class ProposalError(TrainingDataError):
    """A reviewed proposals file is unusable; ``issues`` holds one line per problem.

    Args:
        path: The file.
        issues: Problems, each starting with its line number where known.
    """

    def __init__(self, path: Path, issues: Sequence[str]) -> None:
        super().__init__(f"{path}: {len(issues)} problem(s):\n" + "\n".join(issues))
        self.path = path
        self.issues = list(issues)


@dataclass
class ClusterProposal:
    """One cluster as the maintainer sees it.

    Attributes:
        id: The cluster's number in the members file.
        name: The proposed (or edited) intent name.
        size: Distinct member texts.
        messages: Member messages, duplicates included.
        key_terms: The cluster's most distinctive terms.
        examples: Members closest to the centroid.
        action: ``keep``, ``merge`` or ``drop``.
        merge_into: For ``merge``, the kept cluster's name.
        line: The line it starts on, when read from a file.
    """

    id: int
    name: str
    size: int
    messages: int
    key_terms: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    action: str = "keep"
    merge_into: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The mapping written to the file."""
        return {
            "id": self.id,
            "name": self.name,
            "action": self.action,
            "merge_into": self.merge_into,
            "size": self.size,
            "messages": self.messages,
            "key_terms": list(self.key_terms),
            "examples": list(self.examples),
        }


@dataclass
class Proposals:
    """The whole review file.

    Attributes:
        clusters: The clusters, largest first.
        members_file: The members file, relative to the proposals file.
        unclustered: Distinct texts in no cluster.
        unclustered_examples: A few of them.
        settings: How the clusters were made (for the record).
    """

    clusters: list[ClusterProposal]
    members_file: str = "intents_members.jsonl"
    unclustered: int = 0
    unclustered_examples: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Member:
    """One distinct (redacted) text and the cluster it belongs to (``-1``: unclustered)."""

    cluster: int
    text: str
    count: int = 1


def write_proposals(path: Path, proposals: Proposals) -> None:
    """Write ``intents_proposed.yml``.

    Args:
        path: Where to write.
        proposals: What to write.
    """
    document = {
        "version": FORMAT_VERSION,
        "members_file": proposals.members_file,
        "settings": proposals.settings,
        "clusters": [c.to_dict() for c in proposals.clusters],
        "unclustered": {
            "size": proposals.unclustered,
            "examples": list(proposals.unclustered_examples),
        },
    }
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(file=path.name) + body, encoding="utf-8")


def write_members(path: Path, members: Iterable[Member]) -> None:
    """Write the members file, one JSON object per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for m in members:
            record = {"cluster": m.cluster, "text": m.text, "count": m.count}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_members(path: Path) -> Iterator[Member]:
    """Read the members file.

    Raises:
        TrainingDataError: If it is missing or a line is malformed (line number given).
    """
    if not path.is_file():
        raise TrainingDataError(f"{path}: members file not found")
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                member = Member(int(record["cluster"]), str(record["text"]), int(record["count"]))
            except (ValueError, KeyError, TypeError) as e:
                raise TrainingDataError(f"{path}:{number}: malformed member record") from e
            yield member


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _value_nodes(node: yaml.Node) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _count(value: object) -> int:
    """An informational count; whatever a maintainer typed there, it never fails."""
    if isinstance(value, bool):
        return 0
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def _parse_cluster(
    raw: object, node: yaml.Node, index: int, issues: list[str]
) -> ClusterProposal | None:
    where = f"line {_line(node)}"
    if not isinstance(raw, dict):
        issues.append(f"{where}: clusters[{index}] must be a mapping")
        return None
    nodes = _value_nodes(node)

    def at(key: str) -> str:
        return f"line {_line(nodes.get(key, node))}"

    cluster_id = raw.get("id")
    if isinstance(cluster_id, bool) or not isinstance(cluster_id, int):
        issues.append(f"{at('id')}: clusters[{index}]: id must be an integer")
        return None
    label = f"cluster {cluster_id}"
    name = raw.get("name")
    if not isinstance(name, str) or not INTENT_NAME.match(name):
        issues.append(
            f"{at('name')}: {label}: name {name!r} must start with a letter and hold only "
            "letters, digits and underscores"
        )
    action = raw.get("action", "keep")
    if action not in ACTIONS:
        issues.append(f"{at('action')}: {label}: action {action!r} must be keep, merge or drop")
    merge_into = raw.get("merge_into")
    if merge_into is not None and not isinstance(merge_into, str):
        issues.append(f"{at('merge_into')}: {label}: merge_into must be a cluster name")
        merge_into = None
    if action == "merge" and not merge_into:
        issues.append(f"{at('action')}: {label}: action merge needs merge_into")
    if action in ("keep", "drop") and merge_into:
        issues.append(
            f"{at('merge_into')}: {label}: merge_into is set but action is {action}; "
            "set action: merge or clear merge_into"
        )
    return ClusterProposal(
        id=cluster_id,
        name=name if isinstance(name, str) else "",
        size=_count(raw.get("size")),
        messages=_count(raw.get("messages")),
        key_terms=[str(t) for t in raw.get("key_terms") or []],
        examples=[str(t) for t in raw.get("examples") or []],
        action=str(action),
        merge_into=merge_into,
        line=_line(node),
    )


def _check_references(clusters: Sequence[ClusterProposal], issues: list[str]) -> None:
    seen_ids: dict[int, int | None] = {}
    kept: dict[str, ClusterProposal] = {}
    for c in clusters:
        if c.id in seen_ids:
            issues.append(
                f"line {c.line}: cluster {c.id} is listed twice (also line {seen_ids[c.id]})"
            )
        seen_ids.setdefault(c.id, c.line)
        if c.action != "keep" or not c.name:
            continue
        if c.name in kept:
            other = kept[c.name]
            issues.append(
                f"line {c.line}: cluster {c.id}: name {c.name!r} is already used by cluster "
                f"{other.id} (line {other.line}); rename one, or merge one into the other"
            )
        else:
            kept[c.name] = c
    by_name = {c.name: c for c in clusters}
    for c in clusters:
        if c.action != "merge" or not c.merge_into:
            continue
        target = by_name.get(c.merge_into)
        if c.merge_into == c.name:
            issues.append(f"line {c.line}: cluster {c.id}: cannot merge into itself")
        elif target is None:
            issues.append(
                f"line {c.line}: cluster {c.id}: merge_into {c.merge_into!r} is not the name "
                "of any cluster"
            )
        elif c.merge_into not in kept:
            issues.append(
                f"line {c.line}: cluster {c.id}: merge_into {c.merge_into!r} names cluster "
                f"{target.id} whose action is {target.action}; merge into a kept cluster"
            )


def load_proposals(path: Path) -> Proposals:
    """Read and validate a (reviewed) proposals file.

    Args:
        path: The ``intents_proposed.yml`` file.

    Returns:
        The proposals, each cluster with the line it starts on.

    Raises:
        ProposalError: On bad YAML, a wrong structure, an invalid name or action, a
            duplicate name among kept clusters, or a merge into an unknown, merged or
            dropped cluster; every problem is listed with its line.
    """
    if not path.is_file():
        raise TrainingDataError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise ProposalError(path, [f"{where}: invalid YAML: {problem}"]) from e
    if not isinstance(data, dict) or root is None:
        raise ProposalError(path, ["line 1: expected a mapping with a 'clusters' list"])
    nodes = _value_nodes(root)
    raw_clusters = data.get("clusters")
    clusters_node = nodes.get("clusters")
    if not isinstance(raw_clusters, list) or not isinstance(clusters_node, yaml.SequenceNode):
        raise ProposalError(
            path, [f"line {_line(clusters_node or root)}: 'clusters' must be a list"]
        )
    issues: list[str] = []
    clusters = [
        c
        for i, (raw, node) in enumerate(zip(raw_clusters, clusters_node.value, strict=True))
        if (c := _parse_cluster(raw, node, i, issues)) is not None
    ]
    _check_references(clusters, issues)
    if not issues and not any(c.action == "keep" for c in clusters):
        issues.append(f"line {_line(clusters_node)}: no cluster is kept; keep at least one")
    if issues:
        raise ProposalError(path, issues)
    members_file = data.get("members_file") or "intents_members.jsonl"
    unclustered = data.get("unclustered") or {}
    return Proposals(
        clusters=clusters,
        members_file=str(members_file),
        unclustered=_count(unclustered.get("size")) if isinstance(unclustered, dict) else 0,
        unclustered_examples=[str(t) for t in unclustered.get("examples") or []]
        if isinstance(unclustered, dict)
        else [],
        settings=dict(data.get("settings") or {}),
    )
