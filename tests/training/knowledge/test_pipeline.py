"""build_knowledge_base: bad inputs skipped and reported, incremental vectors, the report."""

import json
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge.chunk_vectors import read_chunk_vectors
from bot.knowledge.chunks import read_chunks
from tests.training.knowledge.conftest import CountingEmbedder
from tests.training.knowledge.test_readers import make_pdf
from training.knowledge import KbOptions, NoDocumentsError, build_knowledge_base

MB = 1024 * 1024


def run(tmp_path: Path, redactor, embedder=None, **kwargs):
    options = KbOptions(
        input=tmp_path / "kb",
        out=tmp_path / "out",
        progress=False,
        embed=embedder is not None,
        **kwargs,
    )
    return build_knowledge_base(options, redactor=redactor, embedder=embedder, model_name="fake")


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    (folder / "care").mkdir(parents=True)
    (folder / "care" / "down.md").write_text(
        "# Down jackets\n\nIntro.\n\n## Washing\n\nCold wash. Write to anna.b@gmail.com.\n"
    )
    (folder / "faq.csv").write_text("question,answer\nDo you ship abroad?,Yes.\n")
    return folder


def test_bad_inputs_are_reported_and_skipped_never_fatal(tmp_path, kb, redactor):
    make_pdf(kb / "locked.pdf", ["Secret."], password="s3cret")
    good = make_pdf(tmp_path / "good.pdf", ["Care guide\n" + "Wash at 30. " * 40])
    (kb / "broken.pdf").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (kb / "fake.pdf").write_bytes(b"this is not a pdf")
    (kb / "junk.md").write_bytes(bytes(range(256)) * 4)
    (kb / "latin1.txt").write_bytes("Caf\xe9 menu".encode("latin-1"))
    (kb / "empty.txt").write_bytes(b"")
    (kb / "blank.md").write_text("  \n\n ")
    (kb / "image.png").write_bytes(b"\x89PNG\r\n")
    (kb / "pairs.csv").write_text("text,intent\nhi,greet\n")
    with (kb / "huge.md").open("wb") as f:
        f.truncate(50 * MB)
    result = run(tmp_path, redactor)
    reasons = {r.path: r.reason for r in result.report.rejected}
    assert reasons == {
        "locked.pdf": "encrypted_pdf",
        "broken.pdf": "broken_pdf",
        "fake.pdf": "broken_pdf",
        "junk.md": "not_text",
        "latin1.txt": "not_text",
        "empty.txt": "empty",
        "blank.md": "empty",
        "image.png": "unknown_extension",
        "pairs.csv": "not_faq_csv",
        "huge.md": "too_large",
    }
    assert [d.doc_id for d in result.report.documents] == ["care/down.md", "faq.csv"]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["rejected_by_reason"]["broken_pdf"] == 2
    assert "| `huge.md` | too_large |" in (tmp_path / "out" / "report.md").read_text()


def test_an_oversized_file_is_never_opened(tmp_path, kb, redactor, monkeypatch):
    with (kb / "huge.md").open("wb") as f:
        f.truncate(50 * MB)
    opened: list[str] = []
    original = Path.read_bytes

    def spy(self: Path) -> bytes:
        opened.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    result = run(tmp_path, redactor)
    assert "huge.md" not in opened and "down.md" in opened
    assert result.report.rejected[0].detail.startswith(f"{50 * MB} bytes")


def test_the_size_limit_is_an_option(tmp_path, kb, redactor):
    result = run(tmp_path, redactor, max_file_bytes=60)
    assert {r.path: r.reason for r in result.report.rejected} == {"care/down.md": "too_large"}


def test_a_folder_without_a_usable_document_is_an_error(tmp_path, redactor):
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "junk.bin").write_bytes(b"\x00\x01")
    (tmp_path / "kb" / "empty.md").write_text("")
    with pytest.raises(NoDocumentsError, match="empty: 1, unknown_extension: 1"):
        run(tmp_path, redactor)
    assert not (tmp_path / "out").exists()


def test_chunks_are_redacted_and_the_report_counts_per_type(tmp_path, kb, redactor):
    result = run(tmp_path, redactor)
    chunks = list(read_chunks(tmp_path / "out" / "chunks.jsonl"))
    assert chunks == result.chunks
    assert [c.chunk_id for c in chunks] == ["care/down.md#0", "care/down.md#1", "faq.csv#0"]
    assert chunks[1].text == "Cold wash. Write to [EMAIL_1]."
    assert chunks[2].text == "Q: Do you ship abroad?\nA: Yes."
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["redacted"] == {"EMAIL": 1}
    assert report["documents"][0]["redacted"] == {"EMAIL": 1}
    assert report["documents_read"] == 2 and report["chunks_written"] == 3
    assert report["embeddings"]["enabled"] is False
    assert set(report["timings_s"]) >= {"read", "redact", "chunk", "write", "total"}
    assert "anna" not in (tmp_path / "out" / "report.json").read_text()


def test_a_rerun_embeds_only_the_chunks_whose_hash_is_new(tmp_path, kb, redactor):
    first = CountingEmbedder()
    run(tmp_path, redactor, first)
    assert len(first.seen) == 3
    vectors = read_chunk_vectors(tmp_path / "out")
    before = {h: vectors.vector(h).copy() for h in vectors.rows}

    (kb / "care" / "down.md").write_text(
        "# Down jackets\n\nIntro.\n\n## Washing\n\nWarm wash, 30 degrees.\n"
    )
    second = CountingEmbedder()
    result = run(tmp_path, redactor, second)
    assert second.seen == ["Down jackets > Washing\n\nWarm wash, 30 degrees."]
    assert (result.report.embedded, result.report.reused) == (1, 2)
    vectors = read_chunk_vectors(tmp_path / "out")
    assert set(vectors.rows) == {c.embedding_key for c in result.chunks}
    for chunk in result.chunks:
        expected = before.get(chunk.embedding_key)
        if expected is None:
            expected = CountingEmbedder().encode([chunk.embedding_text()])[0]
        np.testing.assert_array_equal(vectors.vector(chunk.embedding_key), expected)

    third = CountingEmbedder()
    result = run(tmp_path, redactor, third)
    assert third.seen == [] and (result.report.embedded, result.report.reused) == (0, 3)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["embeddings"] == {
        "enabled": True,
        "embedded": 0,
        "reused": 3,
        "fresh_reason": "",
    }


def test_vectors_of_another_model_or_a_damaged_file_are_not_reused(tmp_path, kb, redactor):
    run(tmp_path, redactor, CountingEmbedder())
    other = CountingEmbedder()
    options = KbOptions(input=kb, out=tmp_path / "out", progress=False)
    result = build_knowledge_base(options, redactor=redactor, embedder=other, model_name="new")
    assert len(other.seen) == 3 and "another model" in result.report.fresh_reason

    np.save(tmp_path / "out" / "embeddings.npy", np.zeros((3, 8), dtype=np.float32))
    again = CountingEmbedder()
    result = build_knowledge_base(options, redactor=redactor, embedder=again, model_name="new")
    assert len(again.seen) == 3 and "could not be read" in result.report.fresh_reason


def test_identical_texts_share_one_vector(tmp_path, kb, redactor):
    (kb / "faq.csv").write_text("question,answer\nA?,Same.\nA?,Same.\n")
    embedder = CountingEmbedder()
    result = run(tmp_path, redactor, embedder)
    assert len(result.chunks) == 4 and len(embedder.seen) == 3


def test_the_output_folder_inside_the_input_is_not_read_back(tmp_path, kb, redactor):
    options = KbOptions(input=kb, out=kb / "out", progress=False, embed=False)
    build_knowledge_base(options, redactor=redactor)
    result = build_knowledge_base(options, redactor=redactor)
    assert [d.doc_id for d in result.report.documents] == ["care/down.md", "faq.csv"]
    assert not result.report.rejected
