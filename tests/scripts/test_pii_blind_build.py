"""The frozen blind PII set: built from its source, with checked spans, and never edited."""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "pii_blind_build", ROOT / "scripts" / "pii_blind_build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["v1", "v2", "v3"])
def test_the_jsonl_is_exactly_what_the_source_builds(name: str) -> None:
    build = _module()
    blind = build.SETS[name]
    records = build.build(blind.source.read_text(encoding="utf-8"))
    built = "".join(r.as_json() + "\n" for r in records)
    assert built == blind.output.read_text(encoding="utf-8")
    assert len(records) >= 300
    lines = [json.loads(x) for x in blind.output.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        for span in line["spans"]:
            assert line["text"][span["start"] : span["end"]].strip()


def test_v1_stays_the_default_set() -> None:
    build = _module()
    assert build.SETS["v1"].source == build.SOURCE
    assert build.SETS["v1"].output == build.OUTPUT


def test_the_sets_share_no_text() -> None:
    build = _module()
    assert {"v1", "v2", "v3"} <= set(build.SETS)
    texts = {
        name: {r.text for r in build.build(blind.source.read_text(encoding="utf-8"))}
        for name, blind in build.SETS.items()
    }
    for first, second in itertools.combinations(sorted(texts), 2):
        assert not texts[first] & texts[second], (first, second)


def test_the_checks_catch_a_bad_card_and_a_wrong_marker() -> None:
    build = _module()
    with pytest.raises(build.BuildError):
        build.build("## chat\nmy card is [[CARD:4111 1111 1111 1112]]\n")
    with pytest.raises(build.BuildError):
        build.build("## chat\nhello [[PERSON:Ana]\n")
    assert build.luhn_ok("4111 1111 1111 1111")
    assert build.iban_ok("GB82 WEST 1234 5698 7654 32")
