"""The name finder's speed-ups change nothing it finds: lower-case skip, numpy BLAS."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import common.privacy.names as names
from common.privacy.names import SpacyNameFinder, has_upper, load_pipeline

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    lines = (DATA / "pii_set.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


@pytest.fixture(scope="module")
def finder() -> SpacyNameFinder:
    return SpacyNameFinder()


def test_has_upper() -> None:
    assert has_upper("hi Anna")
    assert has_upper("ÉLODIE")
    assert not has_upper("hi anna, order pc-123456 !")
    assert not has_upper("")


def test_lower_case_texts_skip_spacy_and_lose_nothing(
    finder: SpacyNameFinder, texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lowered = [t.lower() for t in texts] + ["hi anna, where is my order", "thanks marco!"]
    piped: list[str] = []
    real_pipe = finder.nlp.pipe

    def recording_pipe(batch: Sequence[str], **kwargs: Any) -> Iterator[Any]:
        piped.extend(batch)
        return real_pipe(batch, **kwargs)

    monkeypatch.setattr(finder.nlp, "pipe", recording_pipe)
    fast = finder.find_many(lowered + texts)
    assert set(piped) == {t for t in texts if has_upper(t)}
    assert fast[-len(texts) :] == finder.find_many(texts)
    # The same texts with spaCy forced on every one of them: identical detections.
    monkeypatch.setattr(names, "has_upper", lambda text: True)
    forced = finder.find_many(lowered)
    assert fast[: len(lowered)] == forced
    assert sum(map(len, forced)) > 0  # the cue patterns still find names in lower case


def test_lower_case_particle_run_is_no_name(finder: SpacyNameFinder) -> None:
    assert finder._plausible("van der", lower_ok=False) is False
    assert finder._plausible("Anna van der Berg", lower_ok=False) is True


def test_pipeline_multiplies_with_numpy_and_finds_the_same(texts: list[str]) -> None:
    from thinc.api import NumpyOps

    fast = load_pipeline()
    ner_ops = {type(node.ops) for node in fast.get_pipe("ner").model.walk()}
    assert ner_ops == {NumpyOps}
    assert all(not node.ops.use_blis for node in fast.get_pipe("ner").model.walk())
    blis = load_pipeline()
    for _, component in blis.pipeline:
        model = getattr(component, "model", None)
        if model is not None:
            for node in model.walk():
                node.ops = NumpyOps(use_blis=True)

    def annotations(nlp: Any) -> list[object]:
        return [
            ([(e.start_char, e.end_char, e.label_) for e in doc.ents], [t.tag_ for t in doc])
            for doc in nlp.pipe(texts, batch_size=64)
        ]

    assert annotations(fast) == annotations(blis)
