import pytest

from common.errors import TrainingDataError
from training.intent_data import LabelledText, load_examples, to_rasa_yaml


def test_csv_with_category_column(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('text,category\n"Where is my card, please?",card_arrival\nhi,greet\n')
    assert load_examples(path) == [
        LabelledText("Where is my card, please?", "card_arrival"),
        LabelledText("hi", "greet"),
    ]


def test_csv_without_label_column_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,foo\nhello,x\n")
    with pytest.raises(TrainingDataError, match="no label column"):
        load_examples(path)


def test_csv_text_without_label_is_an_error_with_its_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nhello,greet\nbye,\n")
    with pytest.raises(TrainingDataError, match=":3:"):
        load_examples(path)


def test_seq_in_folder(tmp_path):
    (tmp_path / "seq.in").write_text("how much is the fee\nwhat's the weather\n")
    (tmp_path / "label").write_text("fees\noos\n")
    assert [e.label for e in load_examples(tmp_path)] == ["fees", "oos"]


def test_seq_in_with_mismatched_lines(tmp_path):
    (tmp_path / "seq.in").write_text("a\nb\n")
    (tmp_path / "label").write_text("x\n")
    with pytest.raises(TrainingDataError, match="2 lines"):
        load_examples(tmp_path)


def test_rasa_yaml_round_trip(tmp_path):
    examples = [
        LabelledText("where is order PC-123456?", "order_status"),
        LabelledText('he said "hi": ok', "greet"),
    ]
    path = tmp_path / "nlu.yml"
    path.write_text(to_rasa_yaml(examples))
    assert sorted(load_examples(path), key=lambda e: e.label) == sorted(
        examples, key=lambda e: e.label
    )


def test_unknown_format_and_missing_path(tmp_path):
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(TrainingDataError, match="unknown format"):
        load_examples(tmp_path / "x.parquet")
    with pytest.raises(TrainingDataError, match="no such file"):
        load_examples(tmp_path / "missing.csv")


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("text,label\n")
    with pytest.raises(TrainingDataError, match="no labelled examples"):
        load_examples(path)
