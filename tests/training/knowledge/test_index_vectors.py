"""Ingest's stored vectors are the ones the knowledge index would compute itself."""

from pathlib import Path

import numpy as np

from bot.knowledge.chunk_vectors import read_chunk_vectors
from bot.knowledge.chunks import read_chunks
from bot.knowledge.index import KnowledgeIndex
from tests.support.generation import HashingEmbedder
from training.knowledge import KbOptions, build_knowledge_base


def test_ingest_vectors_feed_the_index_unchanged(tmp_path: Path, redactor) -> None:
    kb = tmp_path / "kb"
    (kb / "care").mkdir(parents=True)
    (kb / "care" / "down.md").write_text(
        "# Down jackets\n\nIntro to our down.\n\n## Washing\n\nFront-loader, gentle cycle at "
        "30 degrees, with down wash.\n\n## Drying\n\nTumble dry low with tennis balls.\n"
    )
    (kb / "faq.csv").write_text("question,answer\nDo you ship abroad?,To the EU, UK and US.\n")
    out = tmp_path / "out"
    embedder = HashingEmbedder()
    options = KbOptions(input=kb, out=out, progress=False, embed=True)
    build_knowledge_base(options, redactor=redactor, embedder=embedder, model_name="hashing")

    chunks = list(read_chunks(out / "chunks.jsonl"))
    stored = read_chunk_vectors(out)
    vectors = np.stack([stored.vector(c.embedding_key) for c in chunks])
    # The index embeds title > section and the text; the stored rows must be exactly that.
    np.testing.assert_allclose(vectors, embedder.encode([c.embedding_text() for c in chunks]))

    from_ingest = KnowledgeIndex.build(chunks, embedder, vectors=vectors, model_name="hashing")
    computed = KnowledgeIndex.build(chunks, embedder, model_name="hashing")
    for query in ("how do I dry a down jacket", "shipping abroad", "washing temperature"):
        assert [(h.chunk.chunk_id, h.score) for h in from_ingest.search(query, k=3)] == [
            (h.chunk.chunk_id, h.score) for h in computed.search(query, k=3)
        ]
