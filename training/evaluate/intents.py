"""``training.evaluate intents``: this project's classifier against Rasa's DIET, same run.

Each system is trained with Rasa's ``train_nlu`` on identical YAML and queried through
``Agent.parse_message`` one message at a time, in a subprocess of its own (so that peak
memory is measured per system). Metrics are computed here from the raw predictions.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from common.pretrained import ensure_offline
from training.evaluate import metrics
from training.evaluate.systems import (
    DIET_DEFAULT_EPOCHS,
    diet_pipeline,
    rasa_config,
    transformer_pipeline,
)
from training.intent_data import LabelledText, load_examples, to_rasa_yaml

logger = logging.getLogger(__name__)


@dataclass
class IntentEvalConfig:
    """What to evaluate and how.

    Attributes:
        train: Training data path (any format :func:`load_examples` reads).
        test: In-scope test data path.
        oos: Named out-of-scope sets (labels ignored).
        threshold: The fallback threshold to report OOS precision/recall at.
        systems: Which systems to run: ``transformer`` and/or ``diet``.
        transformer_options: Overrides for this project's classifier.
        diet_epochs: DIET epochs (Rasa's default is 100).
        seed: Seed for both systems.
        out_json: Where to write the full results.
        out_markdown: Where to write the table.
        dataset_name: Name used in the report.
    """

    train: Path
    test: Path
    oos: dict[str, Path] = field(default_factory=dict)
    threshold: float = 0.5
    systems: tuple[str, ...] = ("transformer", "diet")
    transformer_options: dict[str, Any] = field(default_factory=dict)
    diet_epochs: int = DIET_DEFAULT_EPOCHS
    seed: int = 42
    out_json: Path = Path("bench/results/intents.json")
    out_markdown: Path = Path("bench/results/intents.md")
    dataset_name: str = ""


def machine_description() -> str:
    """Describe the machine the benchmark runs on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = "no GPU"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{os.cpu_count()} CPU cores ({cpu}), {mem_gb:.0f} GB RAM, {gpu}"


NO_TRAINING_CACHE = {"RASA_MAX_CACHE_SIZE": "0"}
"""The environment setting that turns Rasa's training cache off (a size of 0 MiB)."""


def _run_system(
    name: str, pipeline: list[dict[str, Any]], nlu_path: Path, texts: list[str], workdir: Path
) -> dict[str, Any]:
    config_path = workdir / f"{name}.config.yml"
    config_path.write_text(yaml.safe_dump(rasa_config(pipeline), sort_keys=False))
    spec_path, out_path = workdir / f"{name}.spec.json", workdir / f"{name}.out.json"
    spec = {"name": name, "config": str(config_path), "nlu": str(nlu_path), "texts": texts}
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    logger.info("Training and querying %s in a subprocess", name)
    ensure_offline()  # the child inherits the offline environment
    # Rasa's training cache off: a repeated run must train, not reload the model an earlier
    # run cached under the same config (a changed size rule does not change the config).
    subprocess.run(
        [sys.executable, "-m", "training.evaluate.runner", str(spec_path), str(out_path)],
        check=True,
        env={**os.environ, **NO_TRAINING_CACHE},
    )
    return json.loads(out_path.read_text(encoding="utf-8"))


def score_system(
    raw: dict[str, Any],
    test: list[LabelledText],
    oos: dict[str, list[str]],
    threshold: float,
) -> dict[str, Any]:
    """Compute every reported metric from one system's raw predictions.

    Args:
        raw: Output of the runner: train time, peak memory and predictions in text order
            (the in-scope test texts first, then each OOS set in ``oos`` order).
        test: In-scope test examples.
        oos: OOS texts per set name.
        threshold: Fallback threshold for the at-threshold figures.

    Returns:
        A flat dict of metrics.
    """
    preds = raw["predictions"]
    in_preds = preds[: len(test)]
    gold = [e.label for e in test]
    predicted = [p["intent"] for p in in_preds]
    in_conf = [p["confidence"] for p in in_preds]
    result: dict[str, Any] = {
        "accuracy": metrics.accuracy(gold, predicted),
        "macro_f1": metrics.macro_f1(gold, predicted),
        "ece": metrics.expected_calibration_error(
            [g == p for g, p in zip(gold, predicted, strict=True)], in_conf
        ),
        "train_seconds": raw["train_seconds"],
        "latency_p50_ms": metrics.percentile_ms([p["seconds"] for p in preds], 50),
        "latency_p95_ms": metrics.percentile_ms([p["seconds"] for p in preds], 95),
        "peak_rss_mb": raw["peak_rss_mb"],
    }
    t95 = metrics.retention_threshold(in_conf, 0.95)
    if oos:
        result["threshold_at_95_retention"] = t95
        result["in_scope_accuracy_at_95_retention"] = metrics.accepted_accuracy(
            gold, predicted, in_conf, t95
        )
        result["in_scope_accuracy_at_threshold"] = metrics.accepted_accuracy(
            gold, predicted, in_conf, threshold
        )
    offset = len(test)
    for name, texts in oos.items():
        conf = [p["confidence"] for p in preds[offset : offset + len(texts)]]
        offset += len(texts)
        at_threshold = metrics.oos_scores(in_conf, conf, threshold)
        result[f"{name}.precision_at_threshold"] = at_threshold["precision"]
        result[f"{name}.recall_at_threshold"] = at_threshold["recall"]
        result[f"{name}.recall_at_95_retention"] = metrics.oos_scores(in_conf, conf, t95)["recall"]
        result[f"{name}.auroc"] = metrics.oos_auroc(in_conf, conf)
    return result


def evaluate_intents(config: IntentEvalConfig) -> dict[str, Any]:
    """Train and score every configured system on the same data, and write the reports.

    Args:
        config: What to evaluate.

    Returns:
        The full results (also written to ``config.out_json``).
    """
    train = load_examples(config.train)
    test = load_examples(config.test)
    known = {e.label for e in train}
    unknown = sorted({e.label for e in test} - known)
    if unknown:
        logger.warning("%d test labels never seen in training: %s", len(unknown), unknown[:5])
    oos = {name: [e.text for e in load_examples(path)] for name, path in config.oos.items()}
    texts = [e.text for e in test] + [t for ts in oos.values() for t in ts]

    systems: dict[str, list[dict[str, Any]]] = {}
    if "transformer" in config.systems:
        options = {"seed": config.seed, **config.transformer_options}
        systems["transformer"] = transformer_pipeline(options)
    if "diet" in config.systems:
        systems["diet"] = diet_pipeline(config.diet_epochs, config.seed)

    results: dict[str, Any] = {
        "dataset": config.dataset_name or str(config.train),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_description(),
        "train_examples": len(train),
        "test_examples": len(test),
        "intents": len(known),
        "oos_examples": {k: len(v) for k, v in oos.items()},
        "threshold": config.threshold,
        "diet_epochs": config.diet_epochs,
        "transformer_options": config.transformer_options,
        "systems": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        nlu_path = workdir / "nlu.yml"
        nlu_path.write_text(to_rasa_yaml(train), encoding="utf-8")
        for name, pipeline in systems.items():
            raw = _run_system(name, pipeline, nlu_path, texts, workdir)
            results["systems"][name] = score_system(raw, test, oos, config.threshold)
            logger.info("%s: accuracy %.4f", name, results["systems"][name]["accuracy"])

    config.out_json.parent.mkdir(parents=True, exist_ok=True)
    config.out_json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    config.out_markdown.parent.mkdir(parents=True, exist_ok=True)
    config.out_markdown.write_text(markdown_table(results), encoding="utf-8")
    return results


_ROWS: list[tuple[str, str, str]] = [
    ("accuracy", "Accuracy (in-scope test)", "pct"),
    ("macro_f1", "Macro-F1", "pct"),
    ("ece", "Calibration error (ECE, lower is better)", "pct"),
    ("in_scope_accuracy_at_95_retention", "In-scope accuracy at 95% retention", "pct"),
    ("in_scope_accuracy_at_threshold", "In-scope accuracy at the threshold", "pct"),
    ("train_seconds", "Training time (s)", "num"),
    ("latency_p50_ms", "Latency p50, one message (ms)", "num"),
    ("latency_p95_ms", "Latency p95, one message (ms)", "num"),
    ("peak_rss_mb", "Peak memory (MB)", "num"),
]


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.2f}%" if kind == "pct" else f"{value:.1f}"


def markdown_table(results: dict[str, Any]) -> str:
    """Render results as a Markdown table, one column per system plus their ratio.

    Args:
        results: Output of :func:`evaluate_intents`.

    Returns:
        Markdown text.
    """
    systems = list(results["systems"])
    rows = list(_ROWS)
    for name in results.get("oos_examples", {}):
        rows += [
            (f"{name}.precision_at_threshold", f"{name}: OOS precision at threshold", "pct"),
            (f"{name}.recall_at_threshold", f"{name}: OOS recall at threshold", "pct"),
            (f"{name}.recall_at_95_retention", f"{name}: OOS recall at 95% retention", "pct"),
            (f"{name}.auroc", f"{name}: OOS AUROC", "pct"),
        ]
    ratio = len(systems) == 2
    header = "| metric | " + " | ".join(systems) + (" | ratio |" if ratio else " |")
    lines = [
        f"**{results['dataset']}** — {results['train_examples']} train / "
        f"{results['test_examples']} test examples, {results['intents']} intents; "
        f"threshold {results['threshold']}; DIET epochs {results['diet_epochs']}.",
        f"Machine: {results['machine']}. Date: {results['date']}.",
        "",
        header,
        "|" + "---|" * (len(systems) + 1 + int(ratio)),
    ]
    for key, label, kind in rows:
        values = [results["systems"][s].get(key) for s in systems]
        if all(v is None for v in values):
            continue
        cells = [_fmt(v, kind) for v in values]
        if ratio:
            a, b = values
            cells.append(f"{a / b:.2f}×" if a is not None and b else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
