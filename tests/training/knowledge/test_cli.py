"""``python -m training kb`` end to end, with a fake encoder and name finder (and one real)."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge.chunk_vectors import read_chunk_vectors
from bot.knowledge.chunks import read_chunks
from common.privacy import Redactor
from tests.training.knowledge.conftest import AnnaNames, CountingEmbedder
from tests.training.knowledge.test_readers import HELP_PAGE, make_pdf
from training.__main__ import COMMANDS, build_parser, main


@pytest.fixture
def fakes(monkeypatch) -> list[CountingEmbedder]:
    """Replace MiniLM with counting fakes and spaCy with the 'Anna' finder."""
    made: list[CountingEmbedder] = []

    def fake_minilm(**kwargs: object) -> CountingEmbedder:
        made.append(CountingEmbedder())
        return made[-1]

    def fake_redactor(config):
        return Redactor(config, name_finder=AnnaNames())

    monkeypatch.setattr("common.embeddings.MiniLMEmbedder", fake_minilm)
    monkeypatch.setattr("training.knowledge.pipeline.Redactor", fake_redactor)
    return made


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "help"
    (folder / "articles").mkdir(parents=True)
    (folder / "articles" / "contact.md").write_text(
        "---\ntitle: Contact us\nurl: https://help.example/contact\n---\n"
        "Call 1-800-555-0100 or write to help@pinecrest.example.\n\n"
        "## Escalations\n\nAnna handles complaints: anna.b@gmail.com.\n"
    )
    (folder / "articles" / "returns.html").write_text(HELP_PAGE)
    make_pdf(folder / "care-guide.pdf", ["Care guide\nWash down at 30 degrees."], "Care Guide")
    (folder / "faq.csv").write_text("Question,Answer\nDo you ship abroad?,Yes.\n")
    (folder / "sizing.txt").write_text("Sizing\n\nOur sizes run small.\n")
    (folder / "logo.png").write_bytes(b"\x89PNG")
    return folder


def test_the_command_table_maps_kb_to_its_module():
    assert COMMANDS["kb"][0] == "training.knowledge.cli"
    args = build_parser(["kb"]).parse_args(["kb", "--input", "in", "--out", "o"])
    assert args.redact_names is False
    assert args.chunk_chars == 800 and args.max_file_bytes == 20 * 1024 * 1024
    assert args.keep == [] and args.no_embed is False
    assert args.handler.__module__ == "training.knowledge.cli"


def test_end_to_end_then_a_rerun_reuses_every_vector(tmp_path, kb, fakes, caplog):
    caplog.set_level(logging.INFO)
    out = tmp_path / "out"
    argv = ["kb", "--input", str(kb), "--out", str(out), "--no-progress"]
    argv += ["--keep", "help@pinecrest.example", "--keep", "+1 800 555 0100", "--redact-names"]
    assert main(argv) == 0
    chunks = list(read_chunks(out / "chunks.jsonl"))
    assert {c.doc_id for c in chunks} == {
        "articles/contact.md",
        "articles/returns.html",
        "care-guide.pdf",
        "faq.csv",
        "sizing.txt",
    }
    contact = [c for c in chunks if c.doc_id == "articles/contact.md"]
    assert contact[0].text == "Call 1-800-555-0100 or write to help@pinecrest.example."
    assert contact[1].section == "Escalations"
    assert contact[1].text == "[PERSON_1] handles complaints: [EMAIL_1]."
    assert all(c.source == "https://help.example/contact" for c in contact)
    vectors = read_chunk_vectors(out)
    assert set(vectors.rows) == {c.embedding_key for c in chunks} and vectors.model
    report = json.loads((out / "report.json").read_text())
    assert report["redacted"] == {"EMAIL": 1, "PERSON": 1}
    assert report["kept"] == {"EMAIL": 1, "PHONE": 1}
    assert report["rejected"] == [
        {"path": "logo.png", "reason": "unknown_extension", "detail": "extension '.png'"}
    ]
    assert report["embeddings"]["embedded"] == len(vectors.rows)
    assert "report.md" in caplog.text

    assert main(argv) == 0
    assert fakes[-1].seen == []
    report = json.loads((out / "report.json").read_text())
    assert report["embeddings"]["embedded"] == 0
    assert report["embeddings"]["reused"] == len(vectors.rows)


def test_no_embed_writes_chunks_only(tmp_path, kb, fakes):
    out = tmp_path / "out"
    assert main(["kb", "--input", str(kb), "--out", str(out), "--no-embed", "--no-progress"]) == 0
    assert (out / "chunks.jsonl").is_file() and (out / "report.md").is_file()
    assert not (out / "embeddings.npy").exists() and fakes == []
    assert "not computed" in (out / "report.md").read_text()


def test_a_folder_without_a_usable_document_exits_2(tmp_path, fakes, caplog):
    folder = tmp_path / "help"
    folder.mkdir()
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj")
    code = main(["kb", "--input", str(folder), "--out", str(tmp_path / "o"), "--no-progress"])
    assert code == 2
    assert "no usable document" in caplog.text and "broken_pdf: 1" in caplog.text


def test_a_missing_folder_and_a_bad_option_exit_2(tmp_path, fakes, caplog):
    assert main(["kb", "--input", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "nope: no such folder" in caplog.text
    code = main(["kb", "--input", str(tmp_path), "--out", "o", "--chunk-chars", "5"])
    assert code == 2 and "chunk size must be at least" in caplog.text


@pytest.mark.slow
def test_with_the_real_minilm_and_name_finder(tmp_path, kb):
    out = tmp_path / "out"
    assert main(["kb", "--input", str(kb), "--out", str(out), "--no-progress"]) == 0
    vectors = read_chunk_vectors(out)
    assert vectors.dimension == 384
    np.testing.assert_allclose(np.linalg.norm(vectors.matrix, axis=1), 1.0, rtol=1e-4)
    text = (out / "chunks.jsonl").read_text()
    assert "anna.b@gmail.com" not in text and "[EMAIL_" in text
