"""Grounding index: top-k by similarity, exclusion, floor, persistence."""

from __future__ import annotations

from pathlib import Path

from bot.nlg.generation.grounding import GroundingIndex
from tests.support.generation import SAMPLE_PAIRS, HashingEmbedder


def test_top_k_finds_similar_questions(embedder: HashingEmbedder) -> None:
    index = GroundingIndex.build(SAMPLE_PAIRS, embedder)
    [hits] = index.search(["is your tent waterproof in rain"], k=2)
    assert [h.conversation_id for h in hits] == ["c2", "c4"]
    assert hits[0].score >= hits[1].score > 0


def test_exclusion_and_floor(embedder: HashingEmbedder) -> None:
    index = GroundingIndex.build(SAMPLE_PAIRS, embedder)
    [hits] = index.search(["is the tent waterproof"], k=1, exclude_conversations=["c2"])
    assert hits[0].conversation_id != "c2"
    [none] = index.search(["zzz qqq"], k=3, min_score=0.5)
    assert none == []


def test_save_and_load(tmp_path: Path, embedder: HashingEmbedder) -> None:
    index = GroundingIndex.build(SAMPLE_PAIRS, embedder)
    index.save(tmp_path)
    loaded = GroundingIndex.load(tmp_path, embedder)
    assert len(loaded) == len(index)
    assert loaded.search(["do you ship to canada"], 1) == index.search(["do you ship to canada"], 1)


def test_search_can_stay_inside_one_intent(embedder: HashingEmbedder) -> None:
    index = GroundingIndex.build(SAMPLE_PAIRS, embedder)
    assert index.intents() == {"shipping_options", "product_question", "return_item"}
    [anywhere] = index.search(["can you ship the tent"], k=6)
    [inside] = index.search(["can you ship the tent"], k=6, intent="product_question")
    assert {h.intent for h in anywhere} > {"product_question"}
    assert {h.conversation_id for h in inside} == {"c2", "c4"}
    assert all(h.intent == "product_question" for h in inside)
    [unknown] = index.search(["can you ship the tent"], k=6, intent="no_such_intent")
    assert unknown == []


def test_intents_survive_save_and_load(tmp_path: Path, embedder: HashingEmbedder) -> None:
    GroundingIndex.build(SAMPLE_PAIRS, embedder).save(tmp_path)
    loaded = GroundingIndex.load(tmp_path, embedder)
    [hits] = loaded.search(["how do I return boots"], k=1, intent="return_item")
    assert hits[0].intent == "return_item" and hits[0].conversation_id == "c6"
