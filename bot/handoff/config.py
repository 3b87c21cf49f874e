"""The handoff queue settings: ``handoff_queue:`` in the bot's ``endpoints.yml``.

The action server (escalation), the inbox and the relay broker all open the queue from
this one key, so they share one queue. Without the file or the key the queue is SQLite
at :data:`DEFAULT_SQLITE_PATH`, the same default :func:`~bot.handoff.factory.create_handoff_queue`
uses for a SQLite config without a ``path``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from rasa.shared.exceptions import RasaException
from rasa.shared.utils.io import read_yaml
from ruamel.yaml.error import YAMLError as RuamelYAMLError

from common.errors import ConfigError

__all__ = [
    "DEFAULT_ENDPOINTS",
    "DEFAULT_QUEUE_CONFIG",
    "DEFAULT_SQLITE_PATH",
    "ENDPOINTS_ENV",
    "QUEUE_KEY",
    "endpoints_path",
    "handoff_queue_config",
]

ENDPOINTS_ENV = "BOT_ENDPOINTS"
DEFAULT_ENDPOINTS = "endpoints.yml"
QUEUE_KEY = "handoff_queue"
DEFAULT_SQLITE_PATH = ".cache/handoff.db"
"""The SQLite queue file when no ``path`` is configured (its folder is created on open)."""
DEFAULT_QUEUE_CONFIG: dict[str, Any] = {"type": "sqlite", "path": DEFAULT_SQLITE_PATH}


def endpoints_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The endpoints file: ``path``, else ``$BOT_ENDPOINTS``, else ``endpoints.yml``."""
    return Path(path or os.environ.get(ENDPOINTS_ENV) or DEFAULT_ENDPOINTS)


def handoff_queue_config(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read the ``handoff_queue:`` mapping of an endpoints file.

    Args:
        path: The endpoints file; see :func:`endpoints_path`.

    Returns:
        A copy of the mapping, or :data:`DEFAULT_QUEUE_CONFIG` (SQLite under
        ``.cache/handoff.db``) when the file or the key is missing.

    Raises:
        ConfigError: If the file is not YAML or the key is not a mapping.
    """
    file = endpoints_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return dict(DEFAULT_QUEUE_CONFIG)
    except OSError as e:
        raise ConfigError(f"Cannot read endpoints file {file} ({e.strerror}).") from e
    try:
        # Rasa's reader, so that ${VARIABLES} are filled in as Rasa does for its own keys.
        data = read_yaml(text) or {}
    except (yaml.YAMLError, RuamelYAMLError, RasaException, ValueError) as e:
        raise ConfigError(f"Endpoints file {file} is not valid YAML ({e}).") from e
    section = data.get(QUEUE_KEY) if isinstance(data, dict) else None
    if section is None:
        return dict(DEFAULT_QUEUE_CONFIG)
    if not isinstance(section, dict):
        raise ConfigError(f"'{QUEUE_KEY}' in {file} must be a mapping.")
    return dict(section)
