"""Protect hand-edited files: a manifest of what ``prepare`` wrote, with content hashes.

``<out>/.prepare-manifest.json`` maps each written file (relative path) to the SHA-256 of
the content written. Before a run writes, every target that exists must be listed there
with an unchanged hash; otherwise the run stops (unless forced), so that nothing a person
edited or placed there is overwritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from common.errors import BotError

logger = logging.getLogger(__name__)

MANIFEST_NAME = ".prepare-manifest.json"


class OutputConflictError(BotError):
    """An output file exists that ``prepare`` did not write, or was edited since."""

    status_code = 409


def file_hash(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class WriteSummary:
    """What a commit changed.

    Attributes:
        written: Files whose content changed (or were new).
        unchanged: Files whose content was already identical.

    """

    written: tuple[str, ...]
    unchanged: tuple[str, ...]


class Manifest:
    """The record of files a previous run wrote into ``out``.

    Args:
        out: The output folder.

    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out / MANIFEST_NAME
        self.files: dict[str, str] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.files = {str(k): str(v) for k, v in dict(data.get("files", {})).items()}
            except (ValueError, AttributeError, TypeError) as e:
                raise OutputConflictError(
                    f"{self.path}: unreadable manifest; remove it or run with --force"
                ) from e

    def conflicts(self, targets: Iterable[str]) -> list[str]:
        """Return the targets that exist but were not written, unchanged, by ``prepare``.

        Args:
            targets: Relative paths the run will write.

        Returns:
            Messages, one per conflicting file (empty when it is safe to write).

        """
        problems = []
        for rel in sorted(targets):
            path = self.out / rel
            if not path.exists():
                continue
            recorded = self.files.get(rel)
            if recorded is None:
                problems.append(f"{path}: exists and was not written by prepare")
            elif not path.is_file() or file_hash(path) != recorded:
                problems.append(f"{path}: edited since prepare wrote it")
        return problems

    def check(self, targets: Iterable[str], force: bool) -> None:
        """Raise unless every existing target is ours and unedited (or ``force``).

        Args:
            targets: Relative paths the run will write.
            force: Overwrite regardless, logging what is overwritten.

        Raises:
            OutputConflictError: Listing the conflicting files.

        """
        problems = self.conflicts(targets)
        if problems and not force:
            raise OutputConflictError(
                "refusing to overwrite files (use --force to overwrite):\n  "
                + "\n  ".join(problems)
            )
        for problem in problems:
            logger.warning("overwriting (--force): %s", problem)

    def commit(self, staged: Mapping[str, Path]) -> WriteSummary:
        """Move staged files into place and record their hashes.

        A staged file identical to the existing target leaves the target untouched.

        Args:
            staged: Relative target path to the staged (temporary) file.

        Returns:
            What changed.

        """
        written: list[str] = []
        unchanged: list[str] = []
        for rel in sorted(staged):
            source, target = staged[rel], self.out / rel
            digest = file_hash(source)
            if target.is_file() and file_hash(target) == digest:
                source.unlink()
                unchanged.append(rel)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
                written.append(rel)
            self.files[rel] = digest
        manifest = json.dumps({"version": 1, "files": dict(sorted(self.files.items()))}, indent=2)
        if not self.path.is_file() or self.path.read_text(encoding="utf-8") != manifest + "\n":
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(manifest + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        return WriteSummary(tuple(written), tuple(unchanged))
