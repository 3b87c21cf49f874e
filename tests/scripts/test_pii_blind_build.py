"""The frozen blind PII set: built from its source, with checked spans, and never edited."""

from __future__ import annotations

import importlib.util
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


def test_the_jsonl_is_exactly_what_the_source_builds() -> None:
    build = _module()
    records = build.build(build.SOURCE.read_text(encoding="utf-8"))
    built = "".join(r.as_json() + "\n" for r in records)
    assert built == build.OUTPUT.read_text(encoding="utf-8")
    assert len(records) >= 300
    lines = [json.loads(x) for x in build.OUTPUT.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        for span in line["spans"]:
            assert line["text"][span["start"] : span["end"]].strip()


def test_the_checks_catch_a_bad_card_and_a_wrong_marker() -> None:
    build = _module()
    with pytest.raises(build.BuildError):
        build.build("## chat\nmy card is [[CARD:4111 1111 1111 1112]]\n")
    with pytest.raises(build.BuildError):
        build.build("## chat\nhello [[PERSON:Ana]\n")
    assert build.luhn_ok("4111 1111 1111 1111")
    assert build.iban_ok("GB82 WEST 1234 5698 7654 32")
