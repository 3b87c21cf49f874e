import threading

import pytest

from bot.knowledge.lexical import LexicalIndex, match_expression, query_terms
from common.errors import ConfigError, TrainingDataError
from tests.support.retrieval import SAMPLE_CHUNKS


@pytest.fixture(scope="module")
def index():
    built = LexicalIndex.build(SAMPLE_CHUNKS)
    yield built
    built.close()


def _ids(index, hits):
    return [c.chunk_id for c in index.chunks([row for row, _ in hits])]


def test_exact_terms_find_their_chunk(index):
    hits = index.search("Do you take Klarna?", 5)
    assert _ids(index, hits) == ["policies/payment.md#0", "policies/shipping.md#0"]
    assert hits[0][1] > hits[1][1] > 0


def test_stemming_matches_other_word_forms(index):
    assert _ids(index, index.search("washing", 5)) == ["care/down.md#0"]
    assert _ids(index, index.search("returned", 5)) == ["policies/returns.md#0"]


def test_partial_matches_rank_below_fuller_ones(index):
    hits = _ids(index, index.search("tumble dry a down jacket", 5))
    assert hits[0] == "care/down.md#1"
    assert "care/down.md#0" in hits


def test_title_and_section_are_indexed(index):
    assert _ids(index, index.search("Temperature ratings", 5)) == ["products/sleeping-bags.md#0"]
    assert _ids(index, index.search("payment", 5)) == ["policies/payment.md#0"]


def test_title_words_weigh_more_than_text_words():
    from bot.knowledge.chunks import Chunk

    in_title = Chunk.build("a#0", "a", "Gaiters", "", "Fit them over boots before a hike.", "a")
    in_text = Chunk.build("b#0", "b", "Boots", "", "Gaiters fit over boots before a hike.", "b")
    lexical = LexicalIndex.build([in_text, in_title])
    assert _ids(lexical, lexical.search("gaiters", 5)) == ["a#0", "b#0"]


@pytest.mark.parametrize(
    "query",
    [
        '"Klarna',
        'Klarna"',
        "Klarna AND",
        "OR Klarna OR",
        "NOT Klarna",
        "NEAR(Klarna PayPal, 2)",
        "(Klarna",
        "Klarna)",
        "Klarna*",
        "* Klarna",
        "^Klarna",
        "title:Klarna",
        "text : Klarna",
        "{title section}: Klarna",
        "- Klarna",
        "Klarna + PayPal",
        "Klarna; DROP TABLE chunks; --",
        "Kla'rna\" \\ Klarna",
    ],
)
def test_fts5_syntax_in_queries_is_plain_text(index, query):
    hits = index.search(query, 5)
    assert "policies/payment.md#0" in _ids(index, hits)


@pytest.mark.parametrize("query", ["", "   ", "?!", '"', "()", "***", "NEAR", "NOT"])
def test_queries_without_content_words_find_nothing_and_do_not_fail(index, query):
    assert index.search(query, 5) == []


def test_match_expression_quotes_each_word():
    assert match_expression('wash "down" jacket* title:NEAR(x)') == (
        '"wash" OR "down" OR "jacket" OR "title" OR "near" OR "x"'
    )
    assert match_expression("¿?") == ""


def test_function_words_are_kept_only_when_nothing_else_is_left():
    assert query_terms("how do I wash my jacket") == ["wash", "jacket"]
    assert query_terms("how do I") == ["how", "do", "i"]
    assert match_expression("AND OR") == '"and" OR "or"'
    assert query_terms("Wash wash WASH") == ["wash"]


def test_diacritics_and_case_are_folded(index):
    assert _ids(index, index.search("ete", 5)) == ["fr/veste.md#0"]
    assert _ids(index, index.search("CREME", 5)) == ["fr/veste.md#0"]
    assert _ids(index, index.search("légère", 5)) == ["fr/veste.md#0"]
    assert _ids(index, index.search("legere 🧥", 5)) == ["fr/veste.md#0"]


def test_k_bounds_the_results(index):
    assert len(index.search("the down jackets returns tents", 2)) == 2
    assert index.search("Klarna", 0) == []
    assert len(index.search("down tents klarna returns shipping", 100)) == 6


def test_chunks_come_back_in_the_order_asked(index):
    assert index.chunks([3, 0, 3]) == [SAMPLE_CHUNKS[3], SAMPLE_CHUNKS[0], SAMPLE_CHUNKS[3]]
    assert index.chunks([]) == []
    with pytest.raises(IndexError):
        index.chunks([len(SAMPLE_CHUNKS)])


def test_duplicate_chunk_ids_are_refused():
    with pytest.raises(TrainingDataError, match="duplicate"):
        LexicalIndex.build([SAMPLE_CHUNKS[0], SAMPLE_CHUNKS[0]])


def test_save_and_open_read_only(index, tmp_path):
    path = tmp_path / "lexical.sqlite3"
    index.save(path)
    opened = LexicalIndex.open(path)
    assert len(opened) == len(SAMPLE_CHUNKS)
    assert opened.document_count() == 7
    for query in ("Klarna", "down jackets", "ete", "ship to the UK"):
        assert opened.search(query, 5) == index.search(query, 5)
    before = path.read_bytes()
    opened.search("Klarna", 5)
    opened.close()
    assert path.read_bytes() == before
    assert not path.with_name(path.name + ".tmp").exists()


def test_opening_a_missing_or_foreign_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no lexical knowledge index"):
        LexicalIndex.open(tmp_path / "missing.sqlite3")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ConfigError):
        LexicalIndex.open(junk)


def test_concurrent_searches_agree(index):
    expected = index.search("down jackets drying", 5)
    results: list[object] = []

    def worker():
        for _ in range(50):
            results.append(index.search("down jackets drying", 5))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 200
    assert all(r == expected for r in results)


def _row(index, chunk_id):
    return next(row for row in range(len(index)) if index.chunks([row])[0].chunk_id == chunk_id)


def test_coverage_is_the_idf_weighted_share_of_the_query_words_a_chunk_holds(index):
    down, bags = _row(index, "care/down.md#0"), _row(index, "products/sleeping-bags.md#0")
    # "washing" reaches "Washing"/"wash" through the stemmer; "jacket" through the plural.
    full, none = index.coverage("washing down jacket", [down, bags])
    assert full == pytest.approx(1.0)
    assert none == 0.0


def test_a_word_no_chunk_holds_weighs_most(index):
    bags = _row(index, "products/sleeping-bags.md#0")
    # "kids" is in no chunk: the bag's passage holds "comfort rating" but not the
    # question's rarest word, so less than half of the question is covered.
    (kids,) = index.coverage("comfort rating kids", [bags])
    (adult,) = index.coverage("comfort rating alpine", [bags])
    assert adult == pytest.approx(1.0)
    assert 0.3 < kids < 0.6


def test_coverage_keeps_the_order_of_rows_and_handles_empty_input(index):
    down, bags = _row(index, "care/down.md#0"), _row(index, "products/sleeping-bags.md#0")
    assert index.coverage("comfort rating", [down, bags, down]) == [0.0, 1.0, 0.0]
    assert index.coverage("?!", [down]) == [0.0]
    assert index.coverage("comfort", []) == []
