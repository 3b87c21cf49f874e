import json

import pytest

from bot.knowledge.chunks import Chunk, content_hash, read_chunks, write_chunks
from common.errors import TrainingDataError


def _chunk(i: int, text: str = "Machine wash down jackets cold, on a gentle cycle.") -> Chunk:
    return Chunk.build(f"care/down.md#{i}", "care/down.md", "Down care", "Washing", text, "care")


def test_chunks_round_trip_through_jsonl(tmp_path):
    chunks = [_chunk(0), _chunk(1, "Tumble dry low with two clean tennis balls.")]
    path = tmp_path / "kb" / "chunks.jsonl"
    assert write_chunks(path, chunks) == 2
    assert list(read_chunks(path)) == chunks
    assert not path.with_suffix(".jsonl.tmp").exists()


def test_hash_follows_the_text():
    assert _chunk(0).hash == content_hash(_chunk(0).text)
    assert _chunk(0).hash != _chunk(0, "Dry clean only.").hash


def test_a_tampered_line_is_refused_with_its_line_number(tmp_path):
    path = tmp_path / "chunks.jsonl"
    data = _chunk(0).to_dict() | {"text": "Bleach is fine."}
    path.write_text(json.dumps(data) + "\n")
    with pytest.raises(TrainingDataError, match=r"chunks.jsonl:1: .*hash does not match"):
        list(read_chunks(path))


@pytest.mark.parametrize("line", ["not json", "[1, 2]", '{"chunk_id": "a"}'])
def test_bad_lines_are_refused(tmp_path, line):
    path = tmp_path / "chunks.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(TrainingDataError, match="chunks.jsonl:1"):
        list(read_chunks(path))


def test_duplicate_ids_and_empty_text_are_refused(tmp_path):
    with pytest.raises(TrainingDataError, match="duplicate"):
        write_chunks(tmp_path / "chunks.jsonl", [_chunk(0), _chunk(0)])
    assert not (tmp_path / "chunks.jsonl").exists()
    with pytest.raises(TrainingDataError, match="no text"):
        _chunk(0, "   ")


def test_a_missing_file_says_how_to_make_it(tmp_path):
    with pytest.raises(TrainingDataError, match="python -m training kb"):
        list(read_chunks(tmp_path / "chunks.jsonl"))
