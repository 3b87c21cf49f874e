"""Knowledge answers through the NLG endpoint: search, gate, cite, adapt, offer a person."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.knowledge.answering import Citation
from bot.knowledge.chunks import Chunk
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.registry import knowledge_registry
from bot.nlg.endpoint import ChannelAwareNLG
from bot.nlg.generation.decoding import Decoded
from bot.nlg.generation.generator import GeneratorOptions
from bot.nlg.generation.guardrails import Guardrails
from bot.nlg.generation.registry import GeneratorRegistry
from bot.nlg.knowledge_reply import HANDOFF_BUTTON, cite, source_link
from common.errors import ConfigError
from tests.support.generation import HashingEmbedder

ROOT = Path(__file__).resolve().parents[3]
CHUNKS = [
    Chunk.build(
        "care/down.md#0",
        "care/down.md",
        "Washing a down jacket",
        "Can I wash a down jacket in a machine?",
        "Yes. Wash a down jacket in a front-loading machine on a gentle cycle at 30 degrees "
        "with a down wash, then tumble dry on low with dryer balls.",
        "care/down.md",
    ),
    Chunk.build(
        "shipping/where.md#0",
        "shipping/where.md",
        "Where we ship",
        "Countries",
        "We ship to the EU, the UK and the US. Standard delivery takes 5 to 7 business days.",
        "https://help.pinecrest.example/shipping/where-we-ship",
    ),
]
GATE = {"extract_min_cosine": 0.3, "min_source_cosine": 0.2}


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(
        [str(ROOT / "domain" / "responses.yml"), str(ROOT / "domain" / "generation.yml")]
    )


@pytest.fixture
def registered() -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex}"
    knowledge_registry().register(KnowledgeIndex.build(CHUNKS, HashingEmbedder()), name)
    yield name
    knowledge_registry().unregister(name)


class _Writer:
    """A fake fine-tuned generator for the answer writer: a fixed answer, counted."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.tokenizer = lambda text, add_special_tokens=False: {"input_ids": [1] * 20}
        self.options = GeneratorOptions()
        self.guardrails = Guardrails()
        self.calls = 0

    def complete(self, prompt_ids: list[int], max_new_tokens: int | None = None) -> Decoded:
        self.calls += 1
        return Decoded((1,), self.answer, -0.2, 1.0, 1.0, True)


def _nlg(
    domain: Domain, name: str, generator: object = None, **settings: object
) -> ChannelAwareNLG:
    config = EndpointConfig(
        type="bot.nlg.endpoint.ChannelAwareNLG",
        knowledge_for=["utter_product_question"],
        knowledge_registry_name=name,
        registry_name=f"{name}-generator",
        help_centre_url="https://help.pinecrest.example",
        answer_gate=GATE,
        **settings,
    )
    registry = GeneratorRegistry()
    if generator is not None:
        registry.register(generator, f"{name}-generator")  # type: ignore[arg-type]
    return ChannelAwareNLG(config, domain, registry=registry)


def _tracker(text: str, channel: str = "web") -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "rest:tester",
        [
            ActionExecuted("action_listen"),
            UserUttered(
                text,
                {"name": "product_question", "confidence": 1.0},
                metadata={"channel": channel},
            ),
        ],
    )


def _generate(nlg: ChannelAwareNLG, text: str, channel: str = "web") -> dict:
    response = asyncio.run(nlg.generate("utter_product_question", _tracker(text, channel), "rest"))
    assert response is not None
    return response


def test_source_links_and_the_citation_line() -> None:
    assert source_link("https://x.example/a", None) == "https://x.example/a"
    assert source_link("care/down.md", "https://help.example/") == "https://help.example/care/down"
    assert source_link("care/down.md", None) is None
    citation = Citation("Washing [down]", "", "care/down.md", "care/down.md#0")
    assert cite("Yes.", [citation], "https://help.example").endswith(
        "Source: [Washing (down)](https://help.example/care/down)"
    )
    assert cite("Yes.", [citation]).endswith("Source: Washing (down)")
    assert cite("Yes.", []) == "Yes."


def test_a_help_centre_question_gets_the_passage_and_its_source(
    domain: Domain, registered: str
) -> None:
    response = _generate(_nlg(domain, registered), "can I wash a down jacket in a machine?")
    knowledge = response["knowledge"]
    assert knowledge["outcome"] == "extract"
    assert knowledge["sources"][0]["chunk_id"] == "care/down.md#0"
    assert "front-loading machine" in response["text"]
    # The web widget renders Markdown: the source is a link.
    assert response["text"].endswith(
        "Source: [Washing a down jacket](https://help.pinecrest.example/care/down)"
    )
    assert "buttons" not in response


def test_the_source_link_follows_each_channel_format(domain: Domain, registered: str) -> None:
    nlg = _nlg(domain, registered)
    slack = _generate(nlg, "do you ship to the UK?", channel="slack")
    assert (
        "<https://help.pinecrest.example/shipping/where-we-ship|Where we ship>" in (slack["text"])
    )
    telegram = _generate(nlg, "do you ship to the UK?", channel="telegram")
    assert '<a href="https://help.pinecrest.example/shipping/where-we-ship">' in telegram["text"]
    email = _generate(nlg, "do you ship to the UK?", channel="email")
    assert (
        "Source: Where we ship (https://help.pinecrest.example/shipping/where-we-ship)"
        in (email["text"])
    )
    assert (
        '<a href="https://help.pinecrest.example/shipping/where-we-ship">'
        in (email["adapted"]["html"])
    )


def test_an_unanswerable_question_gets_the_honest_reply_and_the_offer_of_a_person(
    domain: Domain, registered: str
) -> None:
    response = _generate(_nlg(domain, registered), "do you sell kayaks?")
    assert response["knowledge"]["outcome"] == "dont_know"
    assert "don't know" in response["text"]
    assert response["buttons"] == [HANDOFF_BUTTON]
    assert response["knowledge"]["sources"] == []


def test_without_a_knowledge_index_the_domain_response_is_sent(domain: Domain) -> None:
    response = _generate(_nlg(domain, f"missing-{uuid.uuid4().hex}"), "do you sell kayaks?")
    assert response["knowledge"] == {"outcome": "unavailable"}
    assert "buttons" not in response


def test_bad_knowledge_settings_fail(domain: Domain) -> None:
    with pytest.raises(ConfigError, match="both"):
        _nlg(domain, "x", generate_for=["utter_product_question"])
    with pytest.raises(ConfigError, match="knowledge_top_k"):
        _nlg(domain, "x", knowledge_top_k=0)
    config = EndpointConfig(
        type="bot.nlg.endpoint.ChannelAwareNLG", answer_gate={"min_relevance": 2.0}
    )
    with pytest.raises(ConfigError, match="min_relevance"):
        ChannelAwareNLG(config, domain, registry=GeneratorRegistry())
    config = EndpointConfig(type="bot.nlg.endpoint.ChannelAwareNLG", answer_gate={"nope": 1})
    with pytest.raises(ConfigError, match="answer_gate"):
        ChannelAwareNLG(config, domain, registry=GeneratorRegistry())


def test_the_writer_answers_only_when_switched_on(domain: Domain, registered: str) -> None:
    writer = _Writer("Yes: a front-loading machine, a gentle cycle at 30 degrees, down wash.")
    question = "can I wash a down jacket in a machine?"
    off = _generate(_nlg(domain, registered, writer), question)
    assert writer.calls == 0 and off["knowledge"]["outcome"] == "extract"
    on = _generate(_nlg(domain, registered, writer, knowledge_writer=True), question)
    assert writer.calls == 1
    assert on["knowledge"]["outcome"] == "answer", on["knowledge"]
    assert on["text"].startswith(writer.answer)
    assert "Source: [Washing a down jacket]" in on["text"]
    with pytest.raises(ConfigError, match="knowledge_writer"):
        _nlg(domain, registered, knowledge_writer="yes")
