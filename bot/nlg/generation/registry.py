"""Hand-over of the loaded generator from the Rasa graph to the NLG endpoint.

Rasa loads the trained graph (and so :class:`bot.nlu.response_generator.ResponseGenerator`)
inside the server process, while the NLG endpoint is built separately from
``endpoints.yml``. The component registers its generator here in ``load()``; the endpoint
looks it up by name when a response must be generated. Registering again under a name
replaces the previous generator (a newly loaded model wins), so tests never need to reset it.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

from bot.nlg.generation.generator import TextGenerator

logger = logging.getLogger(__name__)

DEFAULT_NAME = "default"


class GeneratorRegistry:
    """Generators by name, safe to use from several threads."""

    def __init__(self) -> None:
        self._generators: dict[str, TextGenerator] = {}
        self._lock = threading.Lock()

    def register(self, generator: TextGenerator, name: str = DEFAULT_NAME) -> None:
        """Make ``generator`` the one served under ``name``."""
        with self._lock:
            self._generators[name] = generator
        logger.info("Registered response generator '%s'.", name)

    def unregister(self, name: str = DEFAULT_NAME) -> None:
        """Forget the generator under ``name`` (no error if there is none)."""
        with self._lock:
            self._generators.pop(name, None)

    def get(self, name: str = DEFAULT_NAME) -> TextGenerator | None:
        """Return the generator under ``name``, or ``None`` when none is loaded."""
        with self._lock:
            return self._generators.get(name)


@lru_cache(maxsize=1)
def generator_registry() -> GeneratorRegistry:
    """Return the process-wide registry."""
    return GeneratorRegistry()
