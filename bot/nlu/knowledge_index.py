"""Rasa graph component: builds the knowledge index during ``rasa train`` and searches it.

Use it in ``config.yml`` by module path, after the intent classifiers::

    pipeline:
      ...
      - name: FallbackClassifier
        threshold: 0.55
      - name: bot.nlu.knowledge_index.KnowledgeRetriever
        chunks: models/knowledge        # the --out folder of `python -m training kb`
        top_k: 5
        route_intents: []               # [] (no message), null (every message) or intents

On ``rasa train`` it reads the chunks and their stored MiniLM vectors from the folder named
by ``chunks`` (not Rasa's NLU data), embeds any chunk whose vector is missing or from
another model (:func:`bot.knowledge.build.build_from_folder`), builds the hybrid
:class:`~bot.knowledge.index.KnowledgeIndex` and saves it into Rasa's model storage. The
content hash of the folder's input files is part of the node's fingerprint
(:meth:`fingerprint_addon`), so editing the knowledge retrains this node even though
Rasa's own training data is unchanged. ``bot`` never imports ``training``, so the component
cannot ingest raw documents: a folder without ``chunks.jsonl`` fails training with a
message that says to run ``python -m training kb``.

When the server loads the model, :meth:`load` opens the index (from a private copy of the
resource: Rasa deletes the unpacked model once the graph is loaded) with the packaged
MiniLM as query encoder and registers it in
:func:`bot.knowledge.registry.knowledge_registry` for code that searches with other text.
:meth:`process` attaches the ``top_k`` best passages of each routed message to its parse
data under :data:`KNOWLEDGE` (see :func:`hit_data` for the shape and its size bound).

Routing: with ``route_intents: null`` (the default) every message with text is searched
and the dialogue decides whether to use the hits; with a list, only messages whose
predicted intent (after ``FallbackClassifier``, so ``nlu_fallback`` can be listed) is in it;
with an empty list, none: the component then only builds the index and registers it for
the NLG endpoint (:mod:`bot.nlg.knowledge_reply`), which searches in its own worker thread.
That is the sample bot's setting: the endpoint answers from its own search, so a search
here would only add a MiniLM encoding on the event loop to every open question.
Texts starting with ``/`` (buttons, intent triggers) are never searched. A message that was
not searched has no :data:`KNOWLEDGE` key; one searched without a match has an empty list.

Threads: Rasa 3.6 runs the NLU graph synchronously (``dask.get``, the synchronous
scheduler) inside the async ``MessageProcessor.parse_message``, so :meth:`process` runs
on the server's event loop, like every other NLU component, and must stay fast. A search
is one MiniLM query encoding plus the fused search. On the sample help centre (330 chunks,
2-core CPU shared with other jobs) :meth:`process` took 30 ms p50, 70 ms p95 per message,
of which the search itself 0.4 ms p50, 4 ms p95; at 100,000 chunks the search is about
100 ms p95 (``docs/knowledge.md``). MiniLM encodes with one torch thread (option ``threads``): with
torch's default of one per core, encoding one query took 77 ms p50 and 233 ms p95 on the
same loaded machine instead of 21 and 36 (:class:`common.embeddings.MiniLMEmbedder`
explains why).

Component type: registered as an intent classifier, like
:class:`bot.nlu.response_generator.ResponseGenerator` (Rasa's recipe only loads trained
resources at prediction time for tokenizers, featurizers, intent classifiers and entity
extractors); it never sets or changes ``intent``.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.knowledge.build import build_from_folder, folder_fingerprint
from bot.knowledge.index import Hit, KnowledgeIndex
from bot.knowledge.registry import DEFAULT_NAME, knowledge_registry
from common.embeddings import Embedder
from common.errors import BotError, ConfigError

logger = logging.getLogger(__name__)

KNOWLEDGE = "knowledge"
MAX_TOP_K = 20
MAX_TEXT_CHARS = 4000
MIN_TEXT_CHARS = 100
MAX_FIELD_CHARS = 300
MAX_THREADS = 64
_DEVICE = re.compile(r"cpu|auto|cuda(:\d+)?")
# Keys Rasa itself may put into a component's config.
_RASA_KEYS = {"name", "class", "needs", "finetuning_epoch_fraction"}


def load_embedder(device: str, threads: int | None) -> Embedder:
    """Return the query and chunk encoder: the packaged MiniLM (loaded on first use).

    Tests replace this function with one that returns a fake.

    Args:
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
        threads: Torch threads while encoding (restored afterwards); None: torch's own.

    Returns:
        The embedder.
    """
    from common.embeddings import MiniLMEmbedder

    return MiniLMEmbedder(device=device, threads=threads)


@dataclass(frozen=True)
class RetrieverOptions:
    """The component's options, validated.

    Attributes:
        chunks: The output folder of ``python -m training kb``.
        top_k: Passages attached to each searched message (1 to :data:`MAX_TOP_K`).
        route_intents: Intents whose messages are searched; None: every message; empty:
            none.
        max_text_chars: Longest passage text attached (longer ones are cut at a word).
        device: Where MiniLM runs.
        threads: Torch threads while MiniLM encodes; None keeps torch's setting.
        registry_name: The name the loaded index is registered under.
    """

    chunks: Path
    top_k: int
    route_intents: frozenset[str] | None
    max_text_chars: int
    device: str
    threads: int | None
    registry_name: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RetrieverOptions:
        """Validate a component configuration.

        Args:
            config: The component's configuration (defaults merged in by Rasa).

        Returns:
            The options.

        Raises:
            ConfigError: On an unknown option or a bad value.
        """
        defaults = KnowledgeRetriever.get_default_config()
        unknown = sorted(set(config) - set(defaults) - _RASA_KEYS)
        if unknown:
            raise ConfigError(
                f"KnowledgeRetriever: unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(defaults))}"
            )
        merged = {**defaults, **config}
        chunks = merged["chunks"]
        if not isinstance(chunks, str | Path) or not str(chunks).strip():
            raise ConfigError(
                "KnowledgeRetriever: set `chunks` to the output folder of "
                "`python -m training kb` (e.g. models/knowledge)"
            )
        return cls(
            chunks=Path(chunks),
            top_k=_int_option(merged, "top_k", 1, MAX_TOP_K),
            route_intents=_route_intents(merged["route_intents"]),
            max_text_chars=_int_option(merged, "max_text_chars", MIN_TEXT_CHARS, MAX_TEXT_CHARS),
            device=_device(merged["device"]),
            threads=None
            if merged["threads"] is None
            else _int_option(merged, "threads", 1, MAX_THREADS),
            registry_name=_name(merged["registry_name"]),
        )

    def routes(self, message: Message) -> bool:
        """Whether a message is searched.

        Args:
            message: A message after the intent classifiers.

        Returns:
            True when it has text that is not a ``/`` trigger and, if ``route_intents`` is
            set, its predicted intent is one of them.
        """
        text = message.get(TEXT)
        if not isinstance(text, str) or not text.strip():
            return False
        if text.lstrip().startswith(INTENT_MESSAGE_PREFIX):
            return False
        if self.route_intents is None:
            return True
        intent = message.get(INTENT) or {}
        return isinstance(intent, dict) and intent.get(INTENT_NAME_KEY) in self.route_intents


def _int_option(config: dict[str, Any], key: str, low: int, high: int) -> int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"KnowledgeRetriever: {key} must be a whole number from {low} to {high}, not {value!r}"
        )
    return value


def _route_intents(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, str) and v.strip() for v in value
    ):
        raise ConfigError(
            "KnowledgeRetriever: route_intents must be null (search every message), [] "
            f"(search none) or a list of intent names, not {value!r}"
        )
    return frozenset(v.strip() for v in value)


def _device(value: Any) -> str:
    if not isinstance(value, str) or not _DEVICE.fullmatch(value):
        raise ConfigError(
            f"KnowledgeRetriever: device must be cpu, cuda, cuda:N or auto, not {value!r}"
        )
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"KnowledgeRetriever: registry_name must be a name, not {value!r}")
    return value


def _cut(text: str, limit: int) -> str:
    """Cut text to at most ``limit`` characters, at a word boundary, marked with "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + "…"


def hit_data(hit: Hit, max_text_chars: int) -> dict[str, Any]:
    """Turn a hit into the JSON object attached to a message.

    The parse data is stored in every ``UserUttered`` event and sent to the action server,
    so each object is bounded: ``text`` at most ``max_text_chars`` characters, ``title``,
    ``section`` and ``source`` at most :data:`MAX_FIELD_CHARS` each (cut at a word, ending
    in "…"); the ingest step's chunks (800 characters by default) are never cut by the
    default limit of 1,000.

    Args:
        hit: A search result.
        max_text_chars: The longest ``text``.

    Returns:
        ``{chunk_id, title, section, source, text, score, cosine}``: ``score`` is the fused
        (RRF) score, ``cosine`` the query-to-passage cosine the answer gate reads; both
        plain floats.
    """
    chunk = hit.chunk
    return {
        "chunk_id": chunk.chunk_id,
        "title": _cut(chunk.title, MAX_FIELD_CHARS),
        "section": _cut(chunk.section, MAX_FIELD_CHARS),
        "source": _cut(chunk.source, MAX_FIELD_CHARS),
        "text": _cut(chunk.text, max_text_chars),
        "score": round(float(hit.score), 6),
        "cosine": round(float(hit.cosine), 4),
    }


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class KnowledgeRetriever(GraphComponent):
    """Puts the knowledge index in the model and attaches the best passages to messages."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Return the defaults; ``chunks`` must be set."""
        return {
            "chunks": None,
            "top_k": 5,
            "route_intents": None,
            "max_text_chars": 1000,
            "device": "cpu",
            "threads": 1,
            "registry_name": DEFAULT_NAME,
        }

    @staticmethod
    def required_packages() -> list[str]:
        """Return the packages this component needs."""
        return ["torch", "sentence_transformers"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Add the chunks folder's content hash, so that editing the knowledge retrains."""
        chunks = config.get("chunks")
        if not isinstance(chunks, str | Path) or not str(chunks).strip():
            return "missing"
        return folder_fingerprint(Path(chunks))

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        index: KnowledgeIndex | None = None,
    ) -> None:
        self.component_config = config
        self.options = RetrieverOptions.from_config(config)
        self._model_storage = model_storage
        self._resource = resource
        self._execution_context = execution_context
        self._index = index

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KnowledgeRetriever:
        """Create an untrained component (validates the configuration)."""
        return cls(config, model_storage, resource, execution_context)

    @property
    def index(self) -> KnowledgeIndex | None:
        """The loaded index (None before training or when loading failed)."""
        return self._index

    def train(self, training_data: TrainingData) -> Resource:
        """Build the index from the chunks folder (Rasa's NLU data is not used) and persist.

        Args:
            training_data: Rasa NLU training data (unused; the chunks folder is the input).

        Returns:
            The resource the index was written to.

        Raises:
            TrainingDataError: If the folder has no ``chunks.jsonl`` (run
                ``python -m training kb``), or the chunks are malformed.
        """
        built = build_from_folder(
            self.options.chunks, load_embedder(self.options.device, self.options.threads)
        )
        try:
            with self._model_storage.write_to(self._resource) as directory:
                built.index.save(Path(directory))
        finally:
            built.index.close()
        logger.info(
            "Knowledge index trained: %d chunks, %d stored vectors reused, %d embedded now.",
            built.chunks,
            built.reused,
            built.embedded,
        )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> KnowledgeRetriever:
        """Open the persisted index, register it, and return a component that searches it.

        When the model holds no index or it cannot be opened, the error is logged and the
        component searches nothing (messages get no :data:`KNOWLEDGE`).
        """
        options = RetrieverOptions.from_config(config)
        try:
            with model_storage.read_from(resource) as directory:
                folder = _private_copy(Path(directory))
        except ValueError:
            logger.error("No knowledge index in %s; knowledge is off.", resource.name)
            return cls(config, model_storage, resource, execution_context)
        except OSError as e:
            logger.error("Could not copy the knowledge index; knowledge is off: %s", e)
            return cls(config, model_storage, resource, execution_context)
        try:
            index = KnowledgeIndex.load(folder, load_embedder(options.device, options.threads))
        except (BotError, OSError, ValueError) as e:
            shutil.rmtree(folder, ignore_errors=True)
            logger.error("Could not load the knowledge index; knowledge is off: %s", e)
            return cls(config, model_storage, resource, execution_context)
        weakref.finalize(index, shutil.rmtree, folder, True)
        knowledge_registry().register(index, options.registry_name)
        return cls(config, model_storage, resource, execution_context, index)

    def process(self, messages: list[Message]) -> list[Message]:
        """Attach the best passages to each routed message, under :data:`KNOWLEDGE`.

        Args:
            messages: The messages (after the intent classifiers).

        Returns:
            The same messages.
        """
        if self._index is None:
            return messages
        for message in messages:
            if not self.options.routes(message):
                continue
            hits = self._index.search(message.get(TEXT), self.options.top_k)
            message.set(
                KNOWLEDGE,
                [hit_data(hit, self.options.max_text_chars) for hit in hits],
                add_to_output=True,
            )
        return messages


def _private_copy(directory: Path) -> Path:
    """Copy a persisted index out of Rasa's unpacked model, which is deleted after loading.

    Args:
        directory: The resource's folder.

    Returns:
        A new temporary folder, removed when the index loaded from it is released.
    """
    target = Path(tempfile.mkdtemp(prefix="knowledge-index-"))
    try:
        shutil.copytree(directory, target, dirs_exist_ok=True)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target
