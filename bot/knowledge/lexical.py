"""Lexical retrieval: the chunks and their BM25 full-text index, in one SQLite FTS5 file.

The file holds a plain ``chunks`` table (every :class:`~bot.knowledge.chunks.Chunk` field,
keyed by the chunk's position in the index) and an FTS5 table over its title, section and
text that stores no second copy of them (``content='chunks'``). Both retrievers name a
chunk by that position, so the dense index (:mod:`bot.knowledge.vectors`) shares it.

Tokenizer: ``porter unicode61 remove_diacritics 2``: Unicode word splitting, case folding,
diacritics removed ("café" finds "cafe"), then English Porter stemming ("washing" finds
"washed").

Ranking: FTS5's ``bm25()`` with column weights title 2.0, section 1.5, text 1.0. A query
word in the title or the heading path says the passage is about it, so it counts more than
one in passing; but every chunk of a document shares its title, so the weights stay small
enough for the text to decide between the chunks of one document.

Queries: customer text never reaches ``MATCH`` as it is (FTS5 reads quotes, ``AND``/``OR``/
``NOT``/``NEAR``, parentheses, ``*``, ``^`` and ``column:`` filters as syntax).
:func:`match_expression` keeps only the words, quotes each as an FTS5 string and joins them
with ``OR``, so a passage matching some of the words still ranks, below one matching more.
Common English function words are dropped unless nothing else is left: they carry no
evidence under BM25 and, at 100,000 chunks, matching them would score most of the corpus.

Coverage: :meth:`LexicalIndex.coverage` says how much of a query a chunk speaks to: the
share of the query's words (:func:`query_terms`, matched through the same tokenizer, so
"washing" counts for "washed") that the chunk holds, each word weighted by its inverse
document frequency over the index, ``log((N + 1) / (df + 0.5))``. A word no chunk holds
("kids", "lantern") weighs most, so a question about something the help centre never
mentions has low coverage whatever passage comes back. The answer gate reads it
(:mod:`bot.knowledge.answerability`).

Threads: one connection, opened with ``check_same_thread=False`` and used under a lock.
An index is built in memory (so :meth:`LexicalIndex.build` needs no folder) and saved with
SQLite's backup API; several connections to one in-memory database would need SQLite's
shared cache, which SQLite discourages. A query takes milliseconds on a help centre's
few thousand chunks and about 60 ms (p50) at 100,000 (docs/knowledge.md, "Retrieval"),
well under the time to write an answer, so serialising them costs little; SQLite releases
the GIL while it runs, so the lock is what keeps the connection safe. A saved index is
opened read-only (``mode=ro``).
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.knowledge.chunks import Chunk
from common.errors import ConfigError, TrainingDataError

logger = logging.getLogger(__name__)

LEXICAL_FILE = "lexical.sqlite3"
TOKENIZER = "porter unicode61 remove_diacritics 2"
TITLE_WEIGHT = 2.0
SECTION_WEIGHT = 1.5
TEXT_WEIGHT = 1.0
MAX_QUERY_TERMS = 32
DF_CACHE_SIZE = 4096

_WORD = re.compile(r"[^\W_]+")
# Words that match most passages and carry no evidence: kept only when nothing else is left.
STOPWORDS = frozenset(
    """a about an and are as at be but by can could do does did for from had has have how i
    if in into is it its me my of on or our so than that the their them then there these
    they this to us was we were what when where which who why will with would you your""".split()
)

_SCHEMA = f"""
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    title TEXT NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE VIRTUAL TABLE passages USING fts5(
    title, section, text, content='chunks', content_rowid='id', tokenize='{TOKENIZER}'
);
"""
_CHUNK_COLUMNS = "chunk_id, doc_id, title, section, text, source, hash"


def query_terms(query: str) -> list[str]:
    """Return the distinct words of a query, lower-cased, in order, function words dropped.

    Args:
        query: Customer text.

    Returns:
        At most :data:`MAX_QUERY_TERMS` words; the function words only when the query has
        no other word; empty when it has no word at all.
    """
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
    content = [w for w in words if w not in STOPWORDS]
    return (content or words)[:MAX_QUERY_TERMS]


def match_expression(query: str) -> str:
    """Turn customer text into a safe FTS5 ``MATCH`` expression: its words, ``OR``-ed.

    Each word is an FTS5 string in double quotes, so no character of the query can act
    as FTS5 syntax (the words hold letters and digits only).

    Args:
        query: Customer text.

    Returns:
        E.g. ``'"wash" OR "down" OR "jacket"'``; ``""`` when the query has no word.
    """
    return " OR ".join(f'"{term}"' for term in query_terms(query))


class LexicalIndex:
    """Chunks and their FTS5 index; BM25 search over title, section and text.

    Build one with :meth:`build` or open a saved one with :meth:`open`.

    Args:
        connection: An SQLite connection to a database with this module's schema, opened
            with ``check_same_thread=False``.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._df_cache: OrderedDict[str, int] = OrderedDict()
        with self._lock:
            row = connection.execute("SELECT count(*) FROM chunks").fetchone()
        self._size = int(row[0])

    @classmethod
    def build(cls, chunks: Iterable[Chunk]) -> LexicalIndex:
        """Index chunks in memory; a chunk's position is its row.

        Args:
            chunks: The chunks, in index order.

        Returns:
            The index.

        Raises:
            TrainingDataError: If two chunks share a ``chunk_id``.
        """
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        connection.executescript(_SCHEMA)
        try:
            with connection:
                connection.executemany(
                    f"INSERT INTO chunks (id, {_CHUNK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        (row, c.chunk_id, c.doc_id, c.title, c.section, c.text, c.source, c.hash)
                        for row, c in enumerate(chunks)
                    ),
                )
                connection.execute("INSERT INTO passages (passages) VALUES ('rebuild')")
                connection.execute("INSERT INTO passages (passages) VALUES ('optimize')")
        except sqlite3.IntegrityError as e:
            connection.close()
            raise TrainingDataError(f"knowledge index: duplicate chunk id ({e})") from e
        index = cls(connection)
        logger.info("Built a lexical index of %d chunks.", len(index))
        return index

    @classmethod
    def open(cls, path: Path) -> LexicalIndex:
        """Open a saved index read-only.

        Args:
            path: The file written by :meth:`save`.

        Returns:
            The index.

        Raises:
            ConfigError: If the file is missing or is not a lexical index.
        """
        if not path.is_file():
            raise ConfigError(f"no lexical knowledge index at {path}")
        try:
            connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise ConfigError(f"cannot open the lexical knowledge index {path}: {e}") from e
        try:
            return cls(connection)
        except sqlite3.Error as e:
            connection.close()
            raise ConfigError(f"{path} is not a lexical knowledge index: {e}") from e

    def save(self, path: Path) -> None:
        """Write the index to a file (replaced atomically if it exists).

        Args:
            path: The target file, usually ``<folder>/lexical.sqlite3``.
        """
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        target = sqlite3.connect(tmp)
        try:
            with self._lock:
                self._connection.backup(target)
        finally:
            target.close()
        tmp.replace(path)

    def close(self) -> None:
        """Close the connection; the index cannot be searched afterwards."""
        with self._lock:
            self._connection.close()

    def __len__(self) -> int:
        return self._size

    def document_count(self) -> int:
        """Return how many distinct documents the chunks come from."""
        with self._lock:
            row = self._connection.execute("SELECT count(DISTINCT doc_id) FROM chunks").fetchone()
        return int(row[0])

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Return the ``k`` best chunks for a query by BM25.

        Args:
            query: Customer text (any characters; see :func:`match_expression`).
            k: How many to return.

        Returns:
            ``(row, score)`` pairs, best first; the score is BM25 (higher is better).
            Empty when the query has no word, nothing matches, or ``k < 1``.
        """
        expression = match_expression(query)
        if not expression or k < 1 or not self._size:
            return []
        sql = (
            "SELECT rowid, bm25(passages, ?, ?, ?) AS score FROM passages "
            "WHERE passages MATCH ? ORDER BY score, rowid LIMIT ?"
        )
        weights = (TITLE_WEIGHT, SECTION_WEIGHT, TEXT_WEIGHT)
        with self._lock:
            rows = self._connection.execute(sql, (*weights, expression, k)).fetchall()
        # FTS5's bm25() is negated so that ORDER BY ascending puts the best first.
        return [(int(row), -float(score)) for row, score in rows]

    def coverage(self, query: str, rows: Sequence[int]) -> list[float]:
        """Return the IDF-weighted share of the query's words each chunk holds.

        Args:
            query: Customer text (any characters; see :func:`query_terms`).
            rows: The chunks to measure, by row.

        Returns:
            One share in ``[0, 1]`` per row, in the order of ``rows``; all 0 when the query
            has no word or the index is empty.
        """
        terms = query_terms(query)
        if not rows or not terms or not self._size:
            return [0.0] * len(rows)
        wanted = sorted(set(rows))
        placeholders = ", ".join("?" * len(wanted))
        sql = f"SELECT rowid FROM passages WHERE passages MATCH ? AND rowid IN ({placeholders})"
        weight_by_row = dict.fromkeys(wanted, 0.0)
        total = 0.0
        with self._lock:
            for term in terms:
                expression = f'"{term}"'
                weight = math.log((self._size + 1) / (self._document_frequency(expression) + 0.5))
                total += weight
                for (row,) in self._connection.execute(sql, (expression, *wanted)):
                    weight_by_row[int(row)] += weight
        if total <= 0:
            return [0.0] * len(rows)
        return [min(1.0, weight_by_row[row] / total) for row in rows]

    def _document_frequency(self, expression: str) -> int:
        """How many chunks match one quoted word (cached; call under the lock)."""
        cached = self._df_cache.get(expression)
        if cached is not None:
            self._df_cache.move_to_end(expression)
            return cached
        row = self._connection.execute(
            "SELECT count(*) FROM passages WHERE passages MATCH ?", (expression,)
        ).fetchone()
        count = int(row[0])
        self._df_cache[expression] = count
        if len(self._df_cache) > DF_CACHE_SIZE:
            self._df_cache.popitem(last=False)
        return count

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        """Return the chunks at the given rows.

        Args:
            rows: Row numbers (positions in the index).

        Returns:
            The chunks, in the order of ``rows``.

        Raises:
            IndexError: If a row is not in the index.
        """
        if not rows:
            return []
        wanted = sorted(set(rows))
        placeholders = ", ".join("?" * len(wanted))
        sql = f"SELECT id, {_CHUNK_COLUMNS} FROM chunks WHERE id IN ({placeholders})"
        with self._lock:
            found = {
                int(r[0]): Chunk(*r[1:]) for r in self._connection.execute(sql, wanted).fetchall()
            }
        missing = [r for r in wanted if r not in found]
        if missing:
            raise IndexError(f"no knowledge chunk at row {missing[0]}")
        return [found[r] for r in rows]
