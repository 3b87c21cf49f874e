"""The KnowledgeRetriever graph component: options, fingerprint, train, persist, load, process."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import bot.nlu.knowledge_index as component_module
from bot.knowledge.chunks import CHUNKS_FILE, Chunk, write_chunks
from bot.knowledge.registry import knowledge_registry
from bot.nlu.knowledge_index import (
    KNOWLEDGE,
    MAX_FIELD_CHARS,
    KnowledgeRetriever,
    RetrieverOptions,
)
from common.errors import ConfigError, TrainingDataError
from tests.support.generation import HashingEmbedder
from tests.support.knowledge import CountingEmbedder, write_chunks_folder
from tests.support.retrieval import SAMPLE_CHUNKS, FixedDimEmbedder

HIT_KEYS = {"chunk_id", "title", "section", "source", "text", "score", "cosine"}


@pytest.fixture
def embedders(monkeypatch: pytest.MonkeyPatch) -> list[CountingEmbedder]:
    """Replace the MiniLM loader with hashing fakes; returns every embedder handed out."""
    made: list[CountingEmbedder] = []

    def fake(device: str, threads: int | None) -> CountingEmbedder:
        assert (device, threads) == ("cpu", 1)
        made.append(CountingEmbedder(HashingEmbedder()))
        return made[-1]

    monkeypatch.setattr(component_module, "load_embedder", fake)
    return made


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS, HashingEmbedder())


def _args(
    storage: Path, **config: Any
) -> tuple[dict[str, Any], LocalModelStorage, Resource, ExecutionContext]:
    storage.mkdir(parents=True, exist_ok=True)
    return (
        {**KnowledgeRetriever.get_default_config(), "registry_name": uuid.uuid4().hex, **config},
        LocalModelStorage(storage),
        Resource("knowledge_retriever"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def _trained(storage: Path, kb: Path, **config: Any) -> KnowledgeRetriever:
    args = _args(storage, chunks=str(kb), **config)
    KnowledgeRetriever.create(*args).train(TrainingData())
    return KnowledgeRetriever.load(*args)


def _message(text: str, intent: str | None = None) -> Message:
    message = Message(data={TEXT: text})
    if intent is not None:
        message.set(INTENT, {"name": intent, "confidence": 0.9}, add_to_output=True)
    return message


def test_registered_with_the_default_recipe() -> None:
    registered = DefaultV1Recipe._from_registry("bot.nlu.knowledge_index.KnowledgeRetriever")
    assert registered.is_trainable
    assert DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER in registered.types


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"chunkz": "kb"}, "unknown option"),
        ({"chunks": None}, "python -m training kb"),
        ({"chunks": "  "}, "python -m training kb"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": 21}, "top_k"),
        ({"top_k": True}, "top_k"),
        ({"top_k": "5"}, "top_k"),
        ({"route_intents": "nlu_fallback"}, "route_intents"),
        ({"route_intents": ["ok", ""]}, "route_intents"),
        ({"max_text_chars": 99}, "max_text_chars"),
        ({"max_text_chars": 4001}, "max_text_chars"),
        ({"device": "gpu"}, "device"),
        ({"threads": 0}, "threads"),
        ({"threads": 1.5}, "threads"),
        ({"registry_name": ""}, "registry_name"),
    ],
)
def test_bad_options_fail(tmp_path: Path, overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        KnowledgeRetriever.create(*_args(tmp_path, **{"chunks": "kb", **overrides}))


def test_good_options_are_read(tmp_path: Path) -> None:
    config = {
        "chunks": "kb",
        "top_k": 20,
        "route_intents": ["nlu_fallback", " product_question"],
        "max_text_chars": 100,
        "device": "cuda:1",
        "threads": None,
        "name": "bot.nlu.knowledge_index.KnowledgeRetriever",
    }
    options = KnowledgeRetriever.create(*_args(tmp_path, **config)).options
    assert options.chunks == Path("kb") and options.top_k == 20
    assert options.route_intents == {"nlu_fallback", "product_question"}
    assert (options.max_text_chars, options.device, options.threads) == (100, "cuda:1", None)
    defaults = RetrieverOptions.from_config({"chunks": "kb"})
    assert (defaults.top_k, defaults.route_intents, defaults.max_text_chars) == (5, None, 1000)
    assert (defaults.device, defaults.threads) == ("cpu", 1)


def test_knowledge_content_is_part_of_the_fingerprint(tmp_path: Path, kb: Path) -> None:
    first = KnowledgeRetriever.fingerprint_addon({"chunks": str(kb)})
    assert KnowledgeRetriever.fingerprint_addon({"chunks": str(kb)}) == first
    write_chunks(kb / CHUNKS_FILE, SAMPLE_CHUNKS[:-1])
    assert KnowledgeRetriever.fingerprint_addon({"chunks": str(kb)}) != first
    missing = KnowledgeRetriever.fingerprint_addon({"chunks": str(tmp_path / "none")})
    assert missing not in (None, first)
    assert KnowledgeRetriever.fingerprint_addon({"chunks": None}) == "missing"


def test_train_persist_load_process(
    tmp_path: Path, kb: Path, embedders: list[CountingEmbedder]
) -> None:
    args = _args(tmp_path / "model", chunks=str(kb), top_k=3)
    KnowledgeRetriever.create(*args).train(TrainingData())
    assert (tmp_path / "model" / "knowledge_retriever" / "knowledge_index.json").is_file()
    assert embedders[0].texts == []  # the stored vectors were used

    component = KnowledgeRetriever.load(*args)
    assert component.index is not None and len(component.index) == len(SAMPLE_CHUNKS)
    assert knowledge_registry().get(args[0]["registry_name"]) is component.index

    message = _message("can I machine wash my down jacket?")
    assert component.process([message]) == [message]
    hits = message.get(KNOWLEDGE)
    assert len(hits) == 3
    assert hits[0]["chunk_id"] == "care/down.md#0"
    assert all(set(hit) == HIT_KEYS for hit in hits)
    assert hits[0] == {
        "chunk_id": "care/down.md#0",
        "title": "Caring for down",
        "section": "Washing > Machine wash",
        "source": "https://help.pinecrest.test/care/down.md",
        "text": SAMPLE_CHUNKS[0].text,
        "score": hits[0]["score"],
        "cosine": hits[0]["cosine"],
    }
    assert all(type(hit["score"]) is float and type(hit["cosine"]) is float for hit in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert 0 < hits[0]["cosine"] <= 1
    # It reaches Rasa's parse data, and the tracker can store it as JSON.
    parse_data = message.as_dict(only_output_properties=True)
    assert json.loads(json.dumps(parse_data[KNOWLEDGE])) == hits


def _open_files_under(folder: Path) -> list[Path]:
    fds = Path("/proc/self/fd")
    paths = []
    for fd in fds.iterdir():
        try:
            paths.append(Path(os.readlink(fd)))
        except OSError:
            continue
    return [p for p in paths if p.is_relative_to(folder.resolve())]


def _private_copies() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("knowledge-index-*"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_the_index_is_served_from_a_private_copy_of_the_unpacked_model(
    tmp_path: Path, kb: Path, embedders: list[CountingEmbedder]
) -> None:
    # Rasa deletes its temporary model folder once the graph is loaded: nothing may stay
    # open in it (on Windows that deletion would fail), and search must go on afterwards.
    args = _args(tmp_path / "model", chunks=str(kb))
    KnowledgeRetriever.create(*args).train(TrainingData())
    before = _private_copies()
    component = KnowledgeRetriever.load(*args)
    (copy,) = _private_copies() - before
    assert _open_files_under(tmp_path / "model") == []
    assert _open_files_under(copy), "the index reads its private copy"
    shutil.rmtree(tmp_path / "model")
    message = _message("do you take Klarna")
    component.process([message])
    assert message.get(KNOWLEDGE)[0]["chunk_id"] == "policies/payment.md#0"

    # The copy is removed once nothing refers to the index any more.
    knowledge_registry().unregister(args[0]["registry_name"])
    del component
    gc.collect()
    assert not copy.exists()


def test_routing_by_intent(tmp_path: Path, kb: Path, embedders: list[CountingEmbedder]) -> None:
    component = _trained(tmp_path / "model", kb, route_intents=["nlu_fallback", "ask_product"])
    routed = [_message("do you take Klarna", "nlu_fallback"), _message("tents", "ask_product")]
    skipped = [_message("do you take Klarna", "greet"), _message("do you take Klarna")]
    component.process([*routed, *skipped])
    assert all(m.get(KNOWLEDGE) for m in routed)
    assert all(KNOWLEDGE not in m.data for m in skipped)


def test_an_empty_route_list_searches_nothing_but_still_registers_the_index(
    tmp_path: Path, kb: Path, embedders: list[CountingEmbedder]
) -> None:
    component = _trained(tmp_path / "model", kb, route_intents=[])
    assert component.index is not None
    embedded_at_load = list(embedders[-1].texts)
    messages = [_message("do you take Klarna", "nlu_fallback"), _message("tents")]
    component.process(messages)
    assert all(KNOWLEDGE not in m.data for m in messages)
    assert embedders[-1].texts == embedded_at_load  # no query was embedded
    assert component.index.search("Klarna", 1)  # the NLG endpoint can still search


def test_what_is_never_searched(
    tmp_path: Path, kb: Path, embedders: list[CountingEmbedder]
) -> None:
    component = _trained(tmp_path / "model", kb)
    embedded_at_load = list(embedders[-1].texts)
    triggers = [_message("/greet"), _message(' /choose{"size": "M L"}'), _message("   ")]
    no_text = Message(data={})
    nothing_found = _message("?!")
    component.process([*triggers, no_text, nothing_found])
    assert all(KNOWLEDGE not in m.data for m in [*triggers, no_text])
    assert nothing_found.get(KNOWLEDGE) == []  # searched, nothing to find
    assert embedders[-1].texts == embedded_at_load  # no query was embedded


def test_attached_data_is_bounded(
    tmp_path: Path, embedders: list[CountingEmbedder], caplog: pytest.LogCaptureFixture
) -> None:
    long = Chunk.build(
        "long#0",
        "long",
        "Sleeping bag " + "very long title " * 40,
        "Section " * 60,
        "Sleeping bag warmth. " + "Lofty down keeps you warm below freezing. " * 200,
        "https://help.pinecrest.test/" + "a/" * 300,
    )
    kb = write_chunks_folder(tmp_path / "kb", [*SAMPLE_CHUNKS, long])  # no vectors
    with caplog.at_level(logging.INFO, logger="bot.knowledge.build"):
        component = _trained(tmp_path / "model", kb, top_k=20, max_text_chars=300)
    assert "embedding 9 of 9 chunks now" in caplog.text
    assert len(embedders[0].texts) == 9  # embedded at train time, once each
    message = _message("sleeping bag warm below freezing")
    component.process([message])
    hits = message.get(KNOWLEDGE)
    assert len(hits) == 9  # every chunk: fewer than top_k exist
    assert hits[0]["chunk_id"] == "long#0"
    assert len(hits[0]["text"]) <= 300 and hits[0]["text"].endswith("…")
    assert hits[0]["text"][:-1] == hits[0]["text"][:-1].rstrip()  # cut at a word
    assert long.text.startswith(hits[0]["text"][:-1])
    for key in ("title", "section", "source"):
        assert len(hits[0][key]) <= MAX_FIELD_CHARS and hits[0][key].endswith("…")
    assert all(len(h["text"]) <= 300 for h in hits)
    short = next(h for h in hits if h["chunk_id"] == "policies/returns.md#0")
    assert short["text"] == SAMPLE_CHUNKS[3].text and short["section"] == ""


def test_top_k_bounds_the_hits(tmp_path: Path, kb: Path, embedders: list[CountingEmbedder]) -> None:
    component = _trained(tmp_path / "model", kb, top_k=2)
    message = _message("wash dry down jacket sleeping bag returns shipping")
    component.process([message])
    assert len(message.get(KNOWLEDGE)) == 2


def test_a_folder_without_chunks_fails_training_and_says_how_to_make_them(
    tmp_path: Path, embedders: list[CountingEmbedder]
) -> None:
    args = _args(tmp_path / "model", chunks=str(tmp_path / "docs"))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "returns.md").write_text("# Returns\n\n30 days.\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match=f"no {CHUNKS_FILE}.*python -m training kb --input"):
        KnowledgeRetriever.create(*args).train(TrainingData())


def test_a_model_without_an_index_searches_nothing(
    tmp_path: Path, embedders: list[CountingEmbedder], caplog: pytest.LogCaptureFixture
) -> None:
    args = _args(tmp_path / "model", chunks="kb")
    with caplog.at_level(logging.ERROR, logger="bot.nlu.knowledge_index"):
        component = KnowledgeRetriever.load(*args)
    assert component.index is None and "knowledge is off" in caplog.text
    assert knowledge_registry().get(args[0]["registry_name"]) is None
    message = _message("do you take Klarna")
    component.process([message])
    assert KNOWLEDGE not in message.data


def test_an_index_of_another_embedding_size_is_not_loaded(
    tmp_path: Path, kb: Path, embedders: list[CountingEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _args(tmp_path / "model", chunks=str(kb))
    KnowledgeRetriever.create(*args).train(TrainingData())
    wrong_size = FixedDimEmbedder(8)
    monkeypatch.setattr(component_module, "load_embedder", lambda *_: wrong_size)
    copies = _private_copies()
    component = KnowledgeRetriever.load(*args)
    assert component.index is None
    assert _private_copies() == copies  # the copy made for it was removed


_TINY_CONFIG = """\
recipe: default.v1
language: en
assistant_id: knowledge-component-test
pipeline:
  - name: WhitespaceTokenizer
  - name: KeywordIntentClassifier
  - name: bot.nlu.knowledge_index.KnowledgeRetriever
    chunks: kb
    top_k: 2
policies: []
"""
_TINY_NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
- intent: payment
  examples: |
    - Klarna
    - pay
"""


def _rasa_train_nlu(workdir: Path, name: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "nlu",
        "--config",
        "config.yml",
        "--nlu",
        "nlu.yml",
        "--out",
        "models",
        "--fixed-model-name",
        name,
    ]
    root = Path(__file__).resolve().parents[3]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    result = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
async def test_rasa_train_nlu_puts_the_index_in_the_model(
    tmp_path: Path, embedders: list[CountingEmbedder]
) -> None:
    # The chunks' stored vectors come from the hashing embedder (recorded under MiniLM's
    # name), so `rasa train` never loads MiniLM; the in-process load below uses the fake.
    (tmp_path / "config.yml").write_text(_TINY_CONFIG, encoding="utf-8")
    (tmp_path / "nlu.yml").write_text(_TINY_NLU, encoding="utf-8")
    write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS[:-1], HashingEmbedder())
    first = _rasa_train_nlu(tmp_path, "first")
    assert (
        "Knowledge index trained: 7 chunks, 7 stored vectors reused" in first.stdout + first.stderr
    )

    # Editing the knowledge retrains the component, and only it.
    write_chunks_folder(tmp_path / "kb", SAMPLE_CHUNKS, HashingEmbedder())
    second = _rasa_train_nlu(tmp_path, "second")
    log = second.stdout + second.stderr
    assert "Knowledge index trained: 8 chunks" in log
    assert "Restored component 'KeywordIntentClassifier' from cache." in log

    agent = await asyncio.to_thread(Agent.load, str(tmp_path / "models" / "second.tar.gz"))
    parsed = await agent.parse_message("do you take Klarna")
    assert parsed["intent"]["name"] == "payment"
    hits = parsed[KNOWLEDGE]
    assert [set(hit) for hit in hits] == [HIT_KEYS, HIT_KEYS]
    assert hits[0]["chunk_id"] == "policies/payment.md#0"
    assert json.loads(json.dumps(parsed))[KNOWLEDGE] == hits
    french = await agent.parse_message("veste légère pluie")
    assert french[KNOWLEDGE][0]["chunk_id"] == "fr/veste.md#0"  # the chunk added last
    assert KNOWLEDGE not in await agent.parse_message("/greet")
