"""Finding the files of a knowledge folder and reading them safely.

Files are listed in a stable order (sorted paths). Hidden files and folders (a leading
``.``, such as ``.git`` or ``.DS_Store``) and the output folder, when it lies inside the
input, are left out silently. The size limit is checked with ``stat`` before a file is
opened, so an oversized file is never read into memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from training.knowledge.document import RejectedFile


def iter_files(root: Path, exclude: Path | None = None) -> Iterator[Path]:
    """List the regular files under ``root``, recursively, sorted by relative path.

    Args:
        root: The knowledge folder.
        exclude: A folder to leave out (the output folder).

    Yields:
        The paths of the files.

    """
    yield from sorted(_walk(root, exclude), key=lambda p: p.relative_to(root).as_posix())


def _walk(root: Path, exclude: Path | None) -> Iterator[Path]:
    skip = exclude.resolve() if exclude is not None else None
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != skip)
        for name in sorted(files):
            path = here / name
            if not name.startswith(".") and path.is_file():
                yield path


def doc_id_of(path: Path, root: Path) -> str:
    """Return a file's id: its path relative to the knowledge folder, with ``/``.

    Args:
        path: The file.
        root: The knowledge folder.

    Returns:
        For example ``"care/down-jackets.md"``.

    """
    return path.relative_to(root).as_posix()


def check_size(path: Path, max_bytes: int) -> int:
    """Return the file's size, rejecting it if it is empty or over ``max_bytes``.

    Args:
        path: The file.
        max_bytes: The largest size accepted.

    Returns:
        The size in bytes.

    Raises:
        RejectedFile: ``empty``, ``too_large`` or ``unreadable``.

    """
    try:
        size = path.stat().st_size
    except OSError as e:
        raise RejectedFile("unreadable", type(e).__name__) from e
    if size == 0:
        raise RejectedFile("empty")
    if size > max_bytes:
        raise RejectedFile("too_large", f"{size} bytes, over the limit of {max_bytes}")
    return size


def read_bytes(path: Path) -> bytes:
    """Read a file whose size was checked.

    Args:
        path: The file.

    Returns:
        Its bytes.

    Raises:
        RejectedFile: ``unreadable``.

    """
    try:
        return path.read_bytes()
    except OSError as e:
        raise RejectedFile("unreadable", type(e).__name__) from e


def decode_text(data: bytes) -> str:
    """Decode a text file as UTF-8 (a BOM is dropped), refusing binary data.

    Args:
        data: The file's bytes.

    Returns:
        The text.

    Raises:
        RejectedFile: ``not_text`` for NUL bytes or invalid UTF-8, ``empty`` for
            whitespace only.

    """
    if b"\x00" in data:
        raise RejectedFile("not_text", "contains NUL bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise RejectedFile("not_text", f"invalid UTF-8 at byte {e.start}") from e
    if not text.strip():
        raise RejectedFile("empty")
    return text
