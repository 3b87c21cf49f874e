"""The MiniLM tagger's decoding, its batching and windows, and its missing-model error."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import ConfigError, ModelNotTrainedError
from common.privacy import RedactionConfig, Redactor
from common.privacy.tagger import TRAIN_COMMAND, MiniLMNameFinder, decode_spans

LABELS = ("O", "B-PERSON", "I-PERSON", "B-ADDRESS", "I-ADDRESS")


def words(text: str) -> list[tuple[int, int]]:
    """Offsets of whitespace-separated pieces, as a tokenizer would give them."""
    out, pos = [], 0
    for piece in text.split(" "):
        out.append((pos, pos + len(piece)))
        pos += len(piece) + 1
    return out


def test_decode_joins_b_and_i_and_keeps_types() -> None:
    text = "ask Anna Lee at 5 Mill Lane Leeds"
    labels = ["O", "B-PERSON", "I-PERSON", "O", "B-ADDRESS", "I-ADDRESS", "I-ADDRESS", "I-ADDRESS"]
    spans = decode_spans(text, words(text), labels, frozenset({"PERSON", "ADDRESS"}))
    assert [(text[s:e], k) for s, e, k in spans] == [
        ("Anna Lee", "PERSON"),
        ("5 Mill Lane Leeds", "ADDRESS"),
    ]
    only_people = decode_spans(text, words(text), labels, frozenset({"PERSON"}))
    assert [text[s:e] for s, e, _ in only_people] == ["Anna Lee"]


def test_decode_widens_word_pieces_and_trims_possessive_and_punctuation() -> None:
    text = "thanks deepa's mum, bye"
    # word pieces: "thanks" "dee" "##pa" "'" "s" "mum" "," "bye"
    offsets = [(0, 6), (7, 10), (10, 12), (12, 13), (13, 14), (15, 18), (18, 19), (20, 23)]
    labels = ["O", "B-PERSON", "O", "O", "O", "O", "O", "O"]
    spans = decode_spans(text, offsets, labels, frozenset({"PERSON"}))
    assert [text[s:e] for s, e, _ in spans] == ["deepa"]


def test_decode_stray_i_starts_a_span_and_specials_are_skipped() -> None:
    text = "Jean-Luc: hello"
    offsets = [(0, 0), (0, 4), (4, 5), (5, 8), (8, 9), (10, 15), (0, 0)]
    labels = ["B-PERSON", "I-PERSON", "I-PERSON", "I-PERSON", "O", "O", "I-PERSON"]
    spans = decode_spans(text, offsets, labels, frozenset({"PERSON"}))
    assert [text[s:e] for s, e, _ in spans] == ["Jean-Luc"]


def test_decode_never_joins_a_name_across_lines() -> None:
    text = "Thanks,\nMaria\nSales"
    offsets = [(0, 6), (6, 7), (8, 13), (14, 19)]
    labels = ["I-PERSON", "I-PERSON", "I-PERSON", "O"]
    spans = decode_spans(text, offsets, labels, frozenset({"PERSON"}))
    assert [text[s:e] for s, e, _ in spans] == ["Thanks", "Maria"]


def test_missing_model_gives_the_command(tmp_path: Path) -> None:
    finder = MiniLMNameFinder(tmp_path / "nowhere")
    with pytest.raises(ModelNotTrainedError, match=TRAIN_COMMAND):
        finder.find_many(["hi its deepa"])
    with pytest.raises(ModelNotTrainedError, match="python -m training pii-ner"):
        Redactor(RedactionConfig(names="minilm", name_model_dir=str(tmp_path / "nowhere")))


def test_config_rejects_unknown_finder_and_types() -> None:
    with pytest.raises(ConfigError, match="names"):
        RedactionConfig(names="presidio")
    with pytest.raises(ConfigError, match="tagger_types"):
        RedactionConfig(tagger_types=("EMAIL",))
    config = RedactionConfig.from_dict({"names": "both", "tagger_types": ["PERSON", "ADDRESS"]})
    assert config.names == "both"
    assert config.tagger_types == ("PERSON", "ADDRESS")
    vote = RedactionConfig.from_dict({"names": "vote", "name_min_person_p": 0.2})
    assert vote.name_min_person_p == 0.2
    for bad in (1.5, "high", True):
        with pytest.raises(ConfigError, match="name_min_person_p"):
            RedactionConfig.from_dict({"names": "vote", "name_min_person_p": bad})


def test_tagger_precision_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="precision"):
        MiniLMNameFinder(tmp_path, precision="int4")
    with pytest.raises(ConfigError, match="precision"):
        RedactionConfig.from_dict({"names": "both", "tagger_precision": "fast"})
    assert RedactionConfig.from_dict({"tagger_precision": "fp32"}).tagger_precision == "fp32"


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_tagger_finds_the_same_names_in_either_precision(
    every_word_a_name: Path, precision: str
) -> None:
    finder = MiniLMNameFinder(every_word_a_name, precision=precision)
    text = "ask olufemi, then ines"
    ((spans, scores),) = finder.tag_many([text])
    assert [text[d.start : d.end] for d in spans] == ["ask olufemi", "then ines"]
    assert all(isinstance(p, float) and 0.9 < p <= 1.0 for _, _, p in scores)


def test_vote_redacts_the_tagger_s_names(every_word_a_name: Path) -> None:
    config = RedactionConfig(
        names="vote", name_model_dir=str(every_word_a_name), types=frozenset({"PERSON"})
    )
    assert Redactor(config).redact("ask olufemi").text == "[PERSON_1]"


@pytest.fixture(scope="module")
def every_word_a_name(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT with the MiniLM tokenizer whose classifier says B-PERSON for every token."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    from common.pretrained import minilm_path

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model = BertForTokenClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, 5.0, 0.0, 0.0, 0.0]))
    path = tmp_path_factory.mktemp("tiny-tagger")
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


def test_finder_maps_tokens_back_to_words_in_batches_and_windows(every_word_a_name: Path) -> None:
    finder = MiniLMNameFinder(every_word_a_name, batch_size=2, max_length=24)
    long_text = " ".join(f"q{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(60))
    texts = ["deepa's", "", "1234 !!", "call [PERSON_1] now", long_text]
    found = finder.find_many(texts)
    assert [texts[0][d.start : d.end] for d in found[0]] == ["deepa"]
    assert found[1] == [] and found[2] == []
    assert [texts[3][d.start : d.end] for d in found[3]] == ["call", "now"]
    # Every word is a name start here; words apart only by spaces make one name.
    assert [long_text[d.start : d.end] for d in found[4]] == [long_text]
    assert all(d.type == "PERSON" for spans in found for d in spans)


def test_a_name_started_again_at_the_surname_is_one_name(every_word_a_name: Path) -> None:
    text = "mervyn conley, then anna\nbo"
    (found,) = MiniLMNameFinder(every_word_a_name).find_many([text])
    assert [text[d.start : d.end] for d in found] == ["mervyn conley", "then anna", "bo"]


def test_a_greeting_never_joins_the_name_after_it(every_word_a_name: Path) -> None:
    text = "dear anna"
    (found,) = MiniLMNameFinder(every_word_a_name).find_many([text])
    assert [text[d.start : d.end] for d in found] == ["anna"]


def test_tag_many_gives_each_word_piece_its_name_probability(every_word_a_name: Path) -> None:
    text = "ask olufemi"
    ((spans, scores),) = MiniLMNameFinder(every_word_a_name).tag_many([text])
    assert [text[d.start : d.end] for d in spans] == ["ask olufemi"]
    assert [text[s:e] for s, e, _ in scores][0] == "ask"
    assert "".join(text[s:e] for s, e, _ in scores) == "askolufemi"
    assert all(0.9 < p <= 1.0 for _, _, p in scores)


def test_finder_drops_non_names_digits_single_letters_and_denylisted(
    every_word_a_name: Path,
) -> None:
    finder = MiniLMNameFinder(every_word_a_name, denylist=("Pinecrest",))
    text = "hi thanks x Pinecrest r2d2 Oisín"
    (found,) = finder.find_many([text])
    assert [text[d.start : d.end] for d in found] == ["Oisín"]


def test_loading_the_finder_leaves_autograd_on_for_the_rest_of_the_process(
    every_word_a_name: Path,
) -> None:
    """Redaction runs in processes that train next (prepare, then a model): no global switch."""
    import torch

    MiniLMNameFinder(every_word_a_name).find_many(["hi its deepa"])
    assert torch.is_grad_enabled()
    weight = torch.ones(2, requires_grad=True)
    (weight * 2).sum().backward()
    assert weight.grad is not None
