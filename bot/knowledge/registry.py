"""Hand-over of the loaded knowledge index from the Rasa graph to the rest of the runtime.

Rasa loads the trained graph, and with it
:class:`bot.nlu.knowledge_index.KnowledgeRetriever`, inside the server process. The
component attaches the top hits for each message to the parse data; code that needs to
search with other text (the NLG endpoint with a follow-up question and its context, agent
assist) looks the index up here by name. Registering again under a name replaces the
previous index (a newly loaded model wins), so tests never need to reset it.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

from bot.knowledge.index import KnowledgeIndex

logger = logging.getLogger(__name__)

DEFAULT_NAME = "default"


class KnowledgeRegistry:
    """Knowledge indexes by name, safe to use from several threads."""

    def __init__(self) -> None:
        self._indexes: dict[str, KnowledgeIndex] = {}
        self._lock = threading.Lock()

    def register(self, index: KnowledgeIndex, name: str = DEFAULT_NAME) -> None:
        """Make ``index`` the one served under ``name``.

        The index it replaces is not closed: a search in another thread may still hold it.
        It is released when nothing refers to it any more.

        Args:
            index: The loaded index.
            name: The name it is served under.
        """
        with self._lock:
            self._indexes[name] = index
        logger.info("Registered knowledge index '%s' (%d chunks).", name, len(index))

    def unregister(self, name: str = DEFAULT_NAME) -> None:
        """Forget the index under ``name`` (no error if there is none).

        Args:
            name: The name.
        """
        with self._lock:
            self._indexes.pop(name, None)

    def get(self, name: str = DEFAULT_NAME) -> KnowledgeIndex | None:
        """Return the index under ``name``, or None when none is loaded.

        Args:
            name: The name.

        Returns:
            The index, or None.
        """
        with self._lock:
            return self._indexes.get(name)


@lru_cache(maxsize=1)
def knowledge_registry() -> KnowledgeRegistry:
    """Return the process-wide registry."""
    return KnowledgeRegistry()
