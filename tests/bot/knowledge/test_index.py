import json
import threading

import numpy as np
import pytest

import bot.knowledge.index as index_module
from bot.knowledge.answerability import ANSWERABILITY_FILE, AnswerabilityModel
from bot.knowledge.index import (
    MAX_QUERY_CHARS,
    META_FILE,
    KnowledgeIndex,
    embedding_text,
    rrf_fuse,
)
from common.errors import ConfigError, TrainingDataError
from tests.support.retrieval import SAMPLE_CHUNKS, FixedDimEmbedder, SynonymEmbedder, by_id


@pytest.fixture(scope="module")
def embedder():
    return SynonymEmbedder()


@pytest.fixture(scope="module")
def index(embedder):
    built = KnowledgeIndex.build(SAMPLE_CHUNKS, embedder)
    yield built
    built.close()


def _ids(hits):
    return [h.chunk.chunk_id for h in hits]


def test_exact_terms_come_first(index):
    hits = index.search("do you take Klarna", 3)
    assert hits[0].chunk == by_id("policies/payment.md#0")
    assert hits[0].lexical_rank == 1 and hits[0].lexical_score > 0


def test_paraphrases_are_found_by_the_dense_retriever(index):
    hits = index.search("laundering a puffer", 3)
    assert hits[0].chunk == by_id("care/down.md#0")
    assert hits[0].lexical_rank is None and hits[0].lexical_score is None
    assert hits[0].dense_rank == 1
    assert hits[0].cosine == hits[0].dense_score > 0.3


def test_a_chunk_found_by_both_ranks_above_chunks_found_by_one(index):
    # "laundering puffer" is closest in meaning to the washing chunk; RX200 is a word of
    # the tent chunk only, which the dense retriever ranks lower.
    hits = index.search("laundering puffer coat RX200", 8)
    tent = next(h for h in hits if h.chunk.chunk_id == "products/tents.md#0")
    washing = next(h for h in hits if h.chunk.chunk_id == "care/down.md#0")
    assert washing.dense_rank == 1 and washing.lexical_rank is None
    assert tent.lexical_rank == 1 and tent.dense_rank is not None and tent.dense_rank > 1
    assert hits[0] is tent
    assert tent.score == pytest.approx(1 / 61 + 1 / (60 + tent.dense_rank))
    assert washing.score == pytest.approx(1 / 61)


def test_scores_are_fused_and_sorted(index):
    hits = index.search("return items for a refund", 8)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for hit in hits:
        expected = sum(1 / (60 + r) for r in (hit.lexical_rank, hit.dense_rank) if r is not None)
        assert hit.score == pytest.approx(expected)
        assert isinstance(hit.cosine, float)


def test_rrf_fuse_prefers_agreement_then_dense_rank_then_row():
    fused = rrf_fuse([[1, 2, 3], [3, 4, 1]])
    # 1 and 3 tie (ranks 1 and 3 each); 3 is the dense retriever's first. 4 and 2 likewise.
    assert [row for row, _, _ in fused] == [3, 1, 4, 2]
    assert fused[0][2] == [3, 1]
    assert fused[2][2] == [None, 2]
    assert fused[3][2] == [2, None]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 63)
    assert [row for row, _, _ in rrf_fuse([[9], [8]])] == [8, 9]
    assert [row for row, _, _ in rrf_fuse([[5, 2], []])] == [5, 2]
    assert rrf_fuse([[], []]) == []


def test_both_found_beats_one_found_at_every_candidate_depth():
    depth = index_module.CANDIDATES
    fused = rrf_fuse(
        [[0] + list(range(100, 100 + depth - 1)), list(range(200, 200 + depth - 1)) + [0]]
    )
    assert fused[0][0] == 0


def test_the_dense_cosine_is_given_for_hits_the_dense_retriever_did_not_rank(index, monkeypatch):
    monkeypatch.setattr(index_module, "CANDIDATES", 1)
    hits = index.search("laundering puffer coat RX200", 2)
    # Each found by one retriever only, at rank 1: a tie, which the dense rank breaks.
    assert _ids(hits) == ["care/down.md#0", "products/tents.md#0"]
    tent = hits[1]
    assert tent.lexical_rank == 1
    assert tent.dense_rank is None and tent.dense_score is None
    assert 0 < tent.cosine < hits[0].cosine


def test_k_larger_than_the_index(index):
    hits = index.search("down jackets", 100)
    assert len(hits) == len(SAMPLE_CHUNKS)
    assert len({h.chunk.chunk_id for h in hits}) == len(SAMPLE_CHUNKS)
    assert index.search("down jackets", 0) == []


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "?!", "()*:"])
def test_empty_queries_find_nothing(index, query):
    assert index.search(query) == []


def test_an_empty_index_finds_nothing(embedder, tmp_path):
    empty = KnowledgeIndex.build([], embedder)
    assert len(empty) == 0
    assert empty.search("down jackets") == []
    empty.save(tmp_path)
    assert KnowledgeIndex.load(tmp_path, embedder).search("down jackets") == []


def test_fts5_syntax_in_the_query_is_harmless(index):
    for query in ('"Klarna', "title:Klarna*", "NEAR(Klarna) AND (", "Klarna OR NOT"):
        assert index.search(query, 3)[0].chunk.chunk_id == "policies/payment.md#0"


def test_unicode_and_diacritics(index):
    for query in ("ete", "Été", "CRÈME", "veste légère", "legere 🧥"):
        assert index.search(query, 1)[0].chunk.chunk_id == "fr/veste.md#0", query
    assert index.search("-5 °C comfort", 1)[0].chunk.chunk_id == "products/sleeping-bags.md#0"


def test_long_queries_are_truncated(embedder):
    index = KnowledgeIndex.build(SAMPLE_CHUNKS, embedder)
    embedder.calls.clear()
    hits = index.search("Klarna " + "x" * 5000 + " tents", 3)
    assert hits[0].chunk.chunk_id == "policies/payment.md#0"
    assert all(h.chunk.chunk_id != "products/tents.md#0" or h.lexical_rank is None for h in hits)
    assert embedder.calls == [[("Klarna " + "x" * 5000)[:MAX_QUERY_CHARS]]]


def test_save_and_load_give_identical_results(index, embedder, tmp_path):
    index.save(tmp_path / "kb")
    loaded = KnowledgeIndex.load(tmp_path / "kb", embedder)
    assert len(loaded) == len(index)
    for query in ("Klarna", "laundering a puffer", "ship abroad", "ete", "RX200 coat", "x"):
        assert loaded.search(query, 5) == index.search(query, 5)
    meta = json.loads((tmp_path / "kb" / META_FILE).read_text())
    assert meta["format"] == 1
    assert meta["chunks"] == len(SAMPLE_CHUNKS)
    assert meta["documents"] == 7
    assert meta["dim"] == 256
    assert meta["model"] == loaded.model_name == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["fusion"] == {"method": "rrf", "k": 60, "candidates": 50}
    loaded.close()


def test_every_hit_carries_its_word_coverage(index):
    hits = index.search("wash down jackets", 3)
    assert hits[0].chunk == by_id("care/down.md#0")
    assert hits[0].coverage == pytest.approx(1.0)
    assert all(h.coverage is not None and 0.0 <= h.coverage <= 1.0 for h in hits)
    assert min(h.coverage for h in hits) < 1.0


def test_a_fitted_answerability_model_is_saved_and_loaded_with_the_index(embedder, tmp_path):
    built = KnowledgeIndex.build(SAMPLE_CHUNKS, embedder)
    built.save(tmp_path / "plain")
    assert KnowledgeIndex.load(tmp_path / "plain", embedder).answerability is None
    built.answerability = AnswerabilityModel(2.0, 5.0, -3.0, 40)
    built.save(tmp_path / "fitted")
    assert KnowledgeIndex.load(tmp_path / "fitted", embedder).answerability == (
        AnswerabilityModel(2.0, 5.0, -3.0, 40)
    )
    (tmp_path / "fitted" / ANSWERABILITY_FILE).write_text("[]", encoding="utf-8")
    with pytest.raises(ConfigError, match="answerability"):
        KnowledgeIndex.load(tmp_path / "fitted", embedder)
    built.close()


def test_saving_twice_replaces_the_index(embedder, tmp_path):
    KnowledgeIndex.build(SAMPLE_CHUNKS, embedder).save(tmp_path)
    KnowledgeIndex.build(SAMPLE_CHUNKS[:2], embedder, model_name="tiny").save(tmp_path)
    loaded = KnowledgeIndex.load(tmp_path, embedder)
    assert len(loaded) == 2 and loaded.model_name == "tiny"


def test_precomputed_vectors_are_used_as_given(embedder):
    vectors = embedder.encode([embedding_text(c) for c in SAMPLE_CHUNKS])
    embedder.calls.clear()
    from_vectors = KnowledgeIndex.build(SAMPLE_CHUNKS, embedder, vectors)
    assert embedder.calls == []
    embedded = KnowledgeIndex.build(SAMPLE_CHUNKS, embedder)
    assert from_vectors.search("laundering a puffer") == embedded.search("laundering a puffer")


def test_misaligned_precomputed_vectors_are_refused(embedder):
    vectors = embedder.encode(["one", "two"])
    with pytest.raises(TrainingDataError, match="8 chunks but 2 precomputed vectors"):
        KnowledgeIndex.build(SAMPLE_CHUNKS, embedder, vectors)


def test_embedding_text_joins_title_section_and_text():
    chunk = by_id("care/down.md#0")
    assert embedding_text(chunk) == f"Caring for down > Washing > Machine wash\n\n{chunk.text}"
    assert embedding_text(by_id("policies/returns.md#0")).startswith("Returns\n\n")


def test_loading_with_an_embedder_of_another_dimension_is_refused(index, tmp_path):
    index.save(tmp_path)
    with pytest.raises(ConfigError, match="256-dimensional .* embedder gives 384 dimensions"):
        KnowledgeIndex.load(tmp_path, FixedDimEmbedder(384))


def test_an_embedder_dimension_attribute_is_used_without_encoding(index, tmp_path):
    class Declared(FixedDimEmbedder):
        dimension = 256

        def encode(self, texts):
            raise AssertionError("not expected to embed")

    index.save(tmp_path)
    assert len(KnowledgeIndex.load(tmp_path, Declared(256))) == len(SAMPLE_CHUNKS)


def test_loading_a_bad_folder_is_a_config_error(index, embedder, tmp_path):
    with pytest.raises(ConfigError, match="no knowledge index"):
        KnowledgeIndex.load(tmp_path, embedder)
    index.save(tmp_path)
    meta_path = tmp_path / META_FILE
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps(meta | {"format": 99}))
    with pytest.raises(ConfigError, match="format 99"):
        KnowledgeIndex.load(tmp_path, embedder)
    meta_path.write_text(json.dumps(meta | {"chunks": 3}))
    with pytest.raises(ConfigError, match="does not match"):
        KnowledgeIndex.load(tmp_path, embedder)
    meta_path.write_text("{")
    with pytest.raises(ConfigError, match="cannot read"):
        KnowledgeIndex.load(tmp_path, embedder)


def test_indexes_that_disagree_are_refused(embedder):
    from bot.knowledge.lexical import LexicalIndex
    from bot.knowledge.vectors import VectorIndex

    with pytest.raises(TrainingDataError, match="8 chunks but 2 vectors"):
        KnowledgeIndex(LexicalIndex.build(SAMPLE_CHUNKS), VectorIndex(np.eye(2)), embedder, "m")


def test_a_loaded_index_serves_several_threads(index, embedder, tmp_path):
    index.save(tmp_path)
    loaded = KnowledgeIndex.load(tmp_path, SynonymEmbedder())
    queries = ["Klarna", "laundering a puffer", "tumble dry", "ship abroad"]
    expected = {q: loaded.search(q, 3) for q in queries}
    failures: list[str] = []

    def worker(offset: int) -> None:
        for i in range(40):
            q = queries[(i + offset) % len(queries)]
            if loaded.search(q, 3) != expected[q]:
                failures.append(q)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
