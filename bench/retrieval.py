"""Hybrid knowledge retrieval at scale: build time, memory and query latency.

Builds a knowledge index (:class:`bot.knowledge.index.KnowledgeIndex`) of ``--chunks``
help-centre-like passages and measures, in the same run:

- build time of the lexical index (SQLite FTS5) and of the dense one (numpy), separately;
- MiniLM embedding throughput on a sample of ``--embed-sample`` chunks (the packaged
  all-MiniLM-L6-v2, one thread, bf16 where the CPU has it), extrapolated to all the chunks:
  embedding 100,000 chunks on two cores would take most of an hour, so the dense index is
  built from seeded random unit vectors of MiniLM's dimension (384), which cost the search
  exactly what real ones do;
- the saved index's size on disk, and the memory of the loaded index (resident set of a
  fresh child process before and after :meth:`KnowledgeIndex.load`, and after the queries);
- query latency p50/p95 over ``--queries`` customer questions for lexical only (BM25,
  50 candidates), dense only (cosine, 50 candidates) and fused (both, RRF, top 5), in the
  child process, on the saved read-only index; the fused figure is reported against the
  two single retrievers, with the share of the fused search spent on the hits' word
  coverage (the answer gate's signal, :meth:`LexicalIndex.coverage`). Queries are embedded
  by a hashing stand-in (microseconds) so the figures are the index's; MiniLM's own time
  for one query is measured separately.

The passages are Bitext customer-support replies (read from ``../shared/datasets``, never
copied into the repository) with their ``{{placeholders}}`` filled from a seeded pool of
product names, numbers, prices and links, cut to one to three paragraphs and titled by
category and product; the queries are Bitext customer requests, half with a product name.

Usage:
    .venv/bin/python bench/retrieval.py [--chunks 100000] [--queries 500]
                                        [--embed-sample 2000] [--seed 0] [--out FILE]

Prints a Markdown table and writes ``bench/results/retrieval.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.answering import retrieve  # noqa: E402
from bot.knowledge.chunks import Chunk  # noqa: E402
from bot.knowledge.index import CANDIDATES, KnowledgeIndex, embedding_text  # noqa: E402
from bot.knowledge.lexical import LexicalIndex  # noqa: E402
from bot.knowledge.vectors import VectorIndex  # noqa: E402

BITEXT = ROOT.parent / "shared" / "datasets" / "bitext_support" / "bitext_support_qa.csv"
RESULTS = ROOT / "bench" / "results" / "retrieval.json"
DIM = 384
MODEL = "sentence-transformers/all-MiniLM-L6-v2"

ADJECTIVES = "Alpine Ridge Summit Tundra Cascade Granite Boreal Sierra Fjord Canyon".split()
ADJECTIVES += "Glacier Meadow Timber Harbor Mesa Aurora".split()
NOUNS = ["down jacket", "sleeping bag", "tent", "rain shell", "hiking boot", "backpack"]
NOUNS += ["fleece", "trekking pole", "headlamp", "camp stove", "sleeping pad", "gaiter"]
SECTIONS = ("Overview", "Details", "Steps", "Good to know", "Troubleshooting", "Limits")
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")


def products(rng: random.Random) -> list[str]:
    """Return the sample catalogue: every adjective and noun, with a model number."""
    return [f"{a} {n} {rng.choice((15, 20, 35, 45, 2, 3))}" for a in ADJECTIVES for n in NOUNS]


def bitext_rows() -> list[dict[str, str]]:
    """Read the shared Bitext CSV."""
    with BITEXT.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def fill(text: str, rng: random.Random, catalogue: Sequence[str]) -> str:
    """Replace Bitext's ``{{placeholders}}`` with seeded product names, figures and links."""

    def value(match: re.Match[str]) -> str:
        kind = rng.randrange(5)
        if kind == 0:
            return rng.choice(catalogue)
        if kind == 1:
            return f"{rng.randrange(2, 90)} days"
        if kind == 2:
            return f"€{rng.randrange(5, 400)}.{rng.randrange(100):02d}"
        if kind == 3:
            return f"https://help.pinecrest.test/{rng.randrange(1000)}"
        return f"+44 20 7946 {rng.randrange(10000):04d}"

    return _PLACEHOLDER.sub(value, text)


def synthesise(count: int, seed: int) -> tuple[list[Chunk], list[str]]:
    """Make ``count`` help-centre-like chunks and the query pool, deterministically.

    Args:
        count: How many chunks.
        seed: The random seed.

    Returns:
        The chunks (five per document) and the customer requests (queries).
    """
    rng = random.Random(seed)
    rows = bitext_rows()
    catalogue = products(rng)
    chunks = []
    for n in range(count):
        row = rows[rng.randrange(len(rows))]
        product = rng.choice(catalogue)
        paragraphs = [p for p in row["response"].split("\n\n") if p.strip()]
        start = rng.randrange(len(paragraphs))
        window = paragraphs[start : start + rng.randint(1, 3)]
        text = fill(f"{product}: " + "\n\n".join(window), rng, catalogue)
        doc = f"kb/{row['category'].lower()}/{n // 5}.md"
        title = f"{row['category'].title()}: {product}"
        section = f"{row['intent'].replace('_', ' ').capitalize()} > {rng.choice(SECTIONS)}"
        chunks.append(Chunk.build(f"{doc}#{n % 5}", doc, title, section, text, doc))
    queries = []
    for row in rows:
        request = row["instruction"]
        queries.append(f"{request} {rng.choice(catalogue)}" if rng.random() < 0.5 else request)
    rng.shuffle(queries)
    return chunks, queries


class HashVectorEmbedder:
    """A seeded random unit vector per text (the dense index's figures without MiniLM)."""

    dimension = DIM

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (see :class:`common.embeddings.Embedder`)."""
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
            rows.append(np.random.default_rng(seed).standard_normal(DIM))
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(texts), DIM)
        return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def rss_mb(field: str = "VmRSS") -> float:
    """The resident set size in MiB (Linux; ``VmHWM`` for this process's peak), else the peak.

    ``getrusage``'s peak is not used where ``/proc`` has it: it survives ``exec``, so a
    child would report its parent's peak at the fork.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and max of latencies, in milliseconds."""
    ms = np.asarray(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "max_ms": round(float(ms.max()), 3),
    }


def timed(fn: Callable[[str], object], queries: Sequence[str]) -> dict[str, float]:
    """Run ``fn`` on each query (after two warm-up calls) and return its latencies."""
    for query in queries[:2]:
        fn(query)
    seconds = []
    for query in queries:
        started = time.perf_counter()
        fn(query)
        seconds.append(time.perf_counter() - started)
    return percentiles(seconds)


def serve(folder: Path, queries_file: Path) -> dict[str, Any]:
    """The child process: load the saved index, then time the three kinds of search."""
    queries = json.loads(queries_file.read_text(encoding="utf-8"))
    embedder = HashVectorEmbedder()
    vectors = embedder.encode(queries)
    before = rss_mb()
    started = time.perf_counter()
    index = KnowledgeIndex.load(folder, embedder)
    load_s = time.perf_counter() - started
    loaded = rss_mb()
    by_query = dict(zip(queries, vectors, strict=True))
    lexical = timed(lambda q: index.lexical.search(q, CANDIDATES), queries)
    dense = timed(lambda q: index.vectors.search(by_query[q], CANDIDATES), queries)
    top_rows = {q: [row for row, _ in index.lexical.search(q, 5)] for q in queries}
    # Word coverage of five hits, as every fused search computes it (part of "fused").
    coverage = timed(lambda q: index.lexical.coverage(q, top_rows[q]), queries)
    fused = timed(lambda q: index.search(q, 5), queries)
    # What the answering step does: the fused top 20 (with coverage), reranked, best 3.
    answering = timed(lambda q: retrieve(index, q, 3), queries)
    embed = timed(lambda q: embedder.encode([q]), queries)
    matches = [len(index.lexical.search(q, CANDIDATES)) for q in queries]
    return {
        "load_s": round(load_s, 3),
        "rss_before_load_mb": round(before, 1),
        "rss_after_load_mb": round(loaded, 1),
        "index_rss_mb": round(loaded - before, 1),
        "rss_after_queries_mb": round(rss_mb(), 1),
        "peak_rss_mb": round(rss_mb("VmHWM"), 1),
        "lexical": lexical,
        "dense": dense,
        "fused": fused,
        "coverage_in_fused": coverage,
        "answering_retrieve": answering,
        "stand_in_query_embedding": embed,
        "queries_with_no_lexical_match": sum(1 for m in matches if m == 0),
    }


def minilm(chunks: Sequence[Chunk], queries: Sequence[str], sample: int) -> dict[str, Any]:
    """Embed a sample of chunks and some single queries with the packaged MiniLM."""
    from common.embeddings import MiniLMEmbedder

    embedder = MiniLMEmbedder(batch_size=64, precision="auto", threads=1).load()
    texts = [embedding_text(c) for c in chunks[:sample]]
    embedder.encode(texts[:64])
    started = time.perf_counter()
    embedder.encode(texts)
    seconds = time.perf_counter() - started
    return {
        "settings": f"all-MiniLM-L6-v2, 1 thread, batch 64, bf16={embedder.bf16}, "
        f"max {embedder.model.max_seq_length} word pieces",
        "sample_chunks": len(texts),
        "sample_s": round(seconds, 1),
        "chunks_per_s": round(len(texts) / seconds, 1),
        "one_query": timed(lambda q: embedder.encode([q]), queries[:100]),
    }


def main() -> int:
    """Build, save, measure in a child process, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000, help="index size")
    parser.add_argument("--queries", type=int, default=500, help="timed queries")
    parser.add_argument(
        "--embed-sample", type=int, default=2000, help="chunks embedded with MiniLM (0: skip)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.serve:
        print(json.dumps(serve(args.serve, args.queries_file)))
        return 0
    if not BITEXT.is_file():
        print(f"the Bitext data set is missing: {BITEXT}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    chunks, pool = synthesise(args.chunks, args.seed)
    queries = pool[: args.queries]
    synth_s = time.perf_counter() - started

    rss0 = rss_mb()
    started = time.perf_counter()
    lexical = LexicalIndex.build(chunks)
    lexical_s = time.perf_counter() - started
    lexical_rss = rss_mb() - rss0

    rng = np.random.default_rng(args.seed)
    raw = rng.standard_normal((len(chunks), DIM), dtype=np.float32)
    rss1 = rss_mb()
    started = time.perf_counter()
    dense = VectorIndex(raw)
    dense_s = time.perf_counter() - started
    dense_rss = rss_mb() - rss1
    del raw

    index = KnowledgeIndex(lexical, dense, HashVectorEmbedder(), MODEL)
    embedding = minilm(chunks, queries, args.embed_sample) if args.embed_sample else None
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        folder = Path(tmp) / "index"
        started = time.perf_counter()
        index.save(folder)
        save_s = time.perf_counter() - started
        sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in sorted(folder.iterdir())}
        index.close()
        queries_file = Path(tmp) / "queries.json"
        queries_file.write_text(json.dumps(queries), encoding="utf-8")
        command = [sys.executable, __file__, "--serve", str(folder)]
        command += ["--queries-file", str(queries_file)]
        load_before = os.getloadavg()
        child = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        load_after = os.getloadavg()
    if child.returncode != 0:
        print(child.stderr[-3000:], file=sys.stderr)
        return child.returncode
    served = json.loads(child.stdout.strip().splitlines()[-1])

    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.processor() or 'cpu'}",
        "command": "python " + " ".join(["bench/retrieval.py", *sys.argv[1:]]),
        "chunks": len(chunks),
        "documents": len({c.doc_id for c in chunks}),
        "mean_chunk_chars": round(sum(len(c.text) for c in chunks) / len(chunks)),
        "queries": len(queries),
        "dim": DIM,
        "synthesise_s": round(synth_s, 1),
        "build": {
            "lexical_s": round(lexical_s, 1),
            "lexical_rss_mb": round(lexical_rss, 1),
            "dense_s": round(dense_s, 2),
            "dense_rss_mb": round(dense_rss, 1),
            "save_s": round(save_s, 1),
        },
        "disk_mb": sizes,
        "minilm": embedding,
        "serve": served,
        "loadavg_before_serve": [round(x, 2) for x in load_before],
        "loadavg_after_serve": [round(x, 2) for x in load_after],
    }
    if embedding:
        projected = len(chunks) / embedding["chunks_per_s"]
        embedding["extrapolated_all_chunks_s"] = round(projected)
    fused = served["fused"]["p95_ms"]
    result["fused_p95_vs"] = {
        "lexical": round(fused / served["lexical"]["p95_ms"], 2),
        "dense": round(fused / served["dense"]["p95_ms"], 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    print(f"{len(chunks):,} chunks, {len(queries)} queries, {result['machine']}\n")
    print("| retrieval | p50 ms | p95 ms | p95 vs fused |\n|---|---:|---:|---:|")
    for name in ("lexical", "dense", "fused"):
        row = served[name]
        ratio = round(fused / row["p95_ms"], 2)
        print(f"| {name} | {row['p50_ms']} | {row['p95_ms']} | fused {ratio}× |")
    share = round(served["coverage_in_fused"]["p95_ms"] / fused, 2)
    cover = served["coverage_in_fused"]
    print(f"| of which word coverage | {cover['p50_ms']} | {cover['p95_ms']} | {share} of fused |")
    step = served["answering_retrieve"]
    print(f"| answering step: fused top 20 + rerank | {step['p50_ms']} | {step['p95_ms']} | |")
    build = result["build"]
    print(f"\nbuild: lexical {build['lexical_s']} s, dense {build['dense_s']} s")
    print(f"loaded index: {served['index_rss_mb']} MiB resident, disk {sizes}")
    if embedding:
        print(
            f"MiniLM: {embedding['chunks_per_s']} chunks/s "
            f"(extrapolated {embedding['extrapolated_all_chunks_s']} s for all), "
            f"one query p50 {embedding['one_query']['p50_ms']} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
