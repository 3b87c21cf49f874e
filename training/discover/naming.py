"""Name clusters from their key terms (class-based TF-IDF), e.g. ``track_order``.

Each cluster's texts are one document. A term's score in a cluster is its frequency there
times ``log(1 + A / f)``, where ``A`` is the average number of words per cluster and ``f``
the term's frequency over all clusters (c-TF-IDF, as in BERTopic): words every cluster uses
("help", "want") score low even if they are not stop words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]*_\d+\]")
TOKEN = r"(?u)\b[^\W\d_][^\W\d_']+\b"
# scikit-learn's list holds words that name support intents; keep those.
MEANINGFUL = frozenset(
    "amount back bill call cancel detail empty fill find fire found full get give interest "
    "move name put show system take top".split()
)
CHAT_FILLERS = frozenset(
    "cant didnt doesnt dont hello hey hi hii id im isnt ive ok okay pls plz thank thanks u ur "
    "wont yes".split()
)
STOP_WORDS = frozenset((ENGLISH_STOP_WORDS - MEANINGFUL) | CHAT_FILLERS)
# Fillers are stop words inside other clusters' names, but a cluster made of nothing else
# (greetings, thanks) is still named from them.
FALLBACK_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS - MEANINGFUL)
NAME_CHARS = re.compile(r"[^a-z0-9]+")


def _strip(text: str) -> str:
    return PLACEHOLDER.sub(" ", text).lower().replace("'", "")


def _ctfidf(
    docs: Sequence[str], stop_words: frozenset[str], ngrams: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    vectorizer = CountVectorizer(
        preprocessor=_strip,
        token_pattern=TOKEN,
        stop_words=sorted(stop_words),
        ngram_range=ngrams,
    )
    try:
        counts = vectorizer.fit_transform(docs).toarray().astype(np.float64)
    except ValueError:  # empty vocabulary
        return np.zeros((len(docs), 0)), np.array([], dtype=object)
    words_per_doc = counts.sum(axis=1, keepdims=True)
    tf = counts / np.where(words_per_doc == 0, 1.0, words_per_doc)
    average = counts.sum() / max(len(docs), 1)
    idf = np.log(1.0 + average / np.maximum(counts.sum(axis=0), 1.0))
    return tf * idf, np.asarray(vectorizer.get_feature_names_out(), dtype=object)


def key_terms(
    clusters: Sequence[Sequence[str]], top_n: int = 6, background: Sequence[str] = ()
) -> list[list[str]]:
    """The most distinctive terms (words and two-word phrases) of each cluster.

    Args:
        clusters: Each cluster's texts.
        top_n: Terms per cluster.
        background: Texts in no cluster (noise); they count towards how common a term is.

    Returns:
        Per cluster, up to ``top_n`` terms, best first.
    """
    docs = [" \n ".join(texts) for texts in clusters] + [" \n ".join(background)]
    result: list[list[str]] = []
    scores, vocab = _ctfidf(docs, STOP_WORDS, (1, 2))
    fallback, fallback_vocab = _ctfidf(docs, FALLBACK_STOP_WORDS, (1, 2))
    for i in range(len(clusters)):
        row, words = scores[i], vocab
        if not np.any(row > 0):
            row, words = fallback[i], fallback_vocab
        order = [j for j in np.argsort(-row, kind="stable") if row[j] > 0][:top_n]
        result.append([str(words[j]) for j in order])
    return result


def _first_position(word: str, texts: Sequence[str]) -> float:
    positions = []
    for text in texts:
        tokens = _strip(text).split()
        for pos, token in enumerate(tokens):
            if token.strip(".,!?;:") == word:
                positions.append(pos / max(len(tokens), 1))
                break
    return float(np.mean(positions)) if positions else 1.0


def _slug(words: Sequence[str]) -> str:
    return NAME_CHARS.sub("_", "_".join(words).lower()).strip("_")


def _same_word(a: str, b: str) -> bool:
    """Whether two words are forms of one (``payment``/``payments``, ``sign``/``signup``)."""
    short, long = sorted((a, b), key=len)
    return short == long or (len(short) >= 4 and long.startswith(short))


def _base_words(terms: Sequence[str], texts: Sequence[str], size: int) -> list[str]:
    words: list[str] = []
    for term in terms:
        for word in term.split():
            if not any(_same_word(word, w) for w in words):
                words.append(word)
        if len(words) >= size:
            break
    words = words[:size]
    return sorted(words, key=lambda w: _first_position(w, texts))


def name_clusters(
    terms: Sequence[Sequence[str]], clusters: Sequence[Sequence[str]], reserved: Sequence[str] = ()
) -> list[str]:
    """Give each cluster a unique snake_case name from its top terms.

    The two best words, in the order customers usually say them (``track_order``,
    ``refund_request``); a third word, then a number, when two clusters would share a name.

    Args:
        terms: Each cluster's key terms, best first (see :func:`key_terms`).
        clusters: Each cluster's texts, for word order.
        reserved: Names not to use.

    Returns:
        One name per cluster.
    """
    used = set(reserved)
    names: list[str] = []
    for i, (cluster_terms, texts) in enumerate(zip(terms, clusters, strict=True)):
        name = ""
        for size in (2, 3):
            candidate = _slug(_base_words(cluster_terms, texts, size))
            if candidate and not candidate[0].isdigit() and candidate not in used:
                name = candidate
                break
        if not name:
            base = _slug(_base_words(cluster_terms, texts, 2)) or "cluster"
            if base[0].isdigit():
                base = f"intent_{base}"
            number = 2 if base != "cluster" else i
            while f"{base}_{number}" in used:
                number += 1
            name = f"{base}_{number}"
        used.add(name)
        names.append(name)
    return names
