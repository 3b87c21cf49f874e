"""Benchmark: intent discovery (clustering) against the true intents, with baselines.

Embeds each data set once with all-MiniLM-L6-v2, then clusters it several ways and scores
each clustering against the labels with NMI and ARI (noise counts as one more cluster):

- ``default``: this project's defaults (average linkage, cosine distance cut);
- ``true_k``: the number of clusters set to the true number (Ward linkage, the default
  for a target count), and ``true_k_average`` the same with average linkage;
- ``sampled``: the defaults with a small sample, the rest assigned to the nearest centroid;
- ``kmeans_embeddings`` and ``kmeans_tfidf``: k-means with the true k, on the same
  embeddings and on TF-IDF vectors (the baselines);
- ``sweep``: a few distance thresholds, to show how the default was chosen.

Data are read from ``../shared/datasets`` (never copied into the repository). JSON goes to
``bench/results/intent_discovery.json``, Markdown to stdout.

    nice -n 10 .venv/bin/python bench/intent_discovery.py
    nice -n 10 .venv/bin/python bench/intent_discovery.py --only bitext --device auto
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.embeddings import MiniLMEmbedder  # noqa: E402
from training.discover.cluster import NOISE, ClusterConfig, cluster_embeddings  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"
SWEEP = (0.45, 0.5, 0.55, 0.6, 0.65)


@dataclass(frozen=True)
class DataSet:
    """A labelled CSV: which columns hold the text and the intent."""

    name: str
    path: Path
    text_column: str
    label_column: str


def data_sets(banking_split: str) -> dict[str, DataSet]:
    """The benchmark's data sets."""
    return {
        "bitext": DataSet(
            "Bitext customer support (27 intents)",
            DATA / "bitext_support" / "bitext_support_qa.csv",
            "instruction",
            "intent",
        ),
        "banking77": DataSet(
            f"Banking77 {banking_split} (77 intents)",
            DATA / "banking77" / f"{banking_split}.csv",
            "text",
            "category",
        ),
    }


def load(data: DataSet) -> tuple[list[str], list[str]]:
    """Read texts and labels."""
    with data.path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r[data.text_column] for r in rows], [r[data.label_column] for r in rows]


def score(labels: list[str], predicted: np.ndarray, seconds: float) -> dict[str, float | int]:
    """NMI and ARI over all points (noise is one cluster), and over clustered points only."""
    y = np.asarray(labels)
    clustered = predicted != NOISE
    found = len(set(predicted[clustered].tolist()))
    result: dict[str, float | int] = {
        "nmi": round(float(normalized_mutual_info_score(y, predicted)), 4),
        "ari": round(float(adjusted_rand_score(y, predicted)), 4),
        "clusters": found,
        "true_clusters": len(set(labels)),
        "noise_fraction": round(float(1 - clustered.mean()), 4),
        "seconds": round(seconds, 2),
    }
    if clustered.any() and not clustered.all():
        result["nmi_clustered"] = round(
            float(normalized_mutual_info_score(y[clustered], predicted[clustered])), 4
        )
        result["ari_clustered"] = round(
            float(adjusted_rand_score(y[clustered], predicted[clustered])), 4
        )
    return result


def timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    """Run ``fn`` and return its result and wall time."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_data_set(data: DataSet, embedder: MiniLMEmbedder, seed: int) -> dict[str, object]:
    """Embed one data set and score every clustering of it."""
    texts, labels = load(data)
    k = len(set(labels))
    embeddings, embed_seconds = timed(lambda: embedder.encode(texts))
    default = ClusterConfig(seed=seed)
    runs: dict[str, dict[str, float | int]] = {}

    def ours(config: ClusterConfig) -> np.ndarray:
        return cluster_embeddings(embeddings, config).labels

    labels_, secs = timed(lambda: ours(default))
    runs["default"] = score(labels, labels_, secs)
    labels_, secs = timed(lambda: ours(ClusterConfig(n_clusters=k, seed=seed)))
    runs["true_k"] = score(labels, labels_, secs)
    true_k_average = ClusterConfig(n_clusters=k, linkage="average", seed=seed)
    labels_, secs = timed(lambda: ours(true_k_average))
    runs["true_k_average"] = score(labels, labels_, secs)
    sample = min(2000, len(texts) // 2)
    labels_, secs = timed(lambda: ours(ClusterConfig(sample_size=sample, seed=seed)))
    runs[f"sampled_{sample}"] = score(labels, labels_, secs)

    def kmeans(x: np.ndarray) -> np.ndarray:
        return np.asarray(KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x))

    labels_, secs = timed(lambda: kmeans(embeddings))
    runs["kmeans_embeddings_true_k"] = score(labels, labels_, secs)
    tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2)
    labels_, secs = timed(lambda: kmeans(tfidf.fit_transform(texts)))
    runs["kmeans_tfidf_true_k"] = score(labels, labels_, secs)
    sweep = {}
    for threshold in SWEEP:
        config = ClusterConfig(distance_threshold=threshold, seed=seed)
        labels_, secs = timed(lambda config=config: ours(config))  # type: ignore[misc]
        sweep[str(threshold)] = score(labels, labels_, secs)
    return {
        "name": data.name,
        "path": str(data.path.relative_to(ROOT.parent)),
        "texts": len(texts),
        "true_clusters": k,
        "embed_seconds": round(embed_seconds, 1),
        "runs": runs,
        "sweep": sweep,
    }


def markdown(results: dict[str, dict[str, object]]) -> str:
    """Render the results as Markdown tables."""
    lines: list[str] = []
    for result in results.values():
        lines += [
            f"### {result['name']}: {result['texts']} texts, {result['true_clusters']} intents",
            "",
            f"Embedding (MiniLM, once, shared by all runs): {result['embed_seconds']} s",
            "",
            "| run | NMI | ARI | clusters (true) | noise | time (s) | NMI / ARI on clustered |",
            "|---|---|---|---|---|---|---|",
        ]
        runs: dict[str, dict[str, float]] = result["runs"]  # type: ignore[assignment]
        for name, r in runs.items():
            inner = (
                f"{r['nmi_clustered']:.3f} / {r['ari_clustered']:.3f}"
                if "nmi_clustered" in r
                else "–"
            )
            lines.append(
                f"| {name} | {r['nmi']:.3f} | {r['ari']:.3f} | {r['clusters']} "
                f"({r['true_clusters']}) | {100 * r['noise_fraction']:.1f}% | {r['seconds']} "
                f"| {inner} |"
            )
        base = runs["kmeans_tfidf_true_k"]
        for name in ("default", "true_k"):
            lines.append(
                f"\n{name} vs k-means on TF-IDF: NMI {runs[name]['nmi'] / base['nmi']:.2f}×, "
                f"ARI {runs[name]['ari'] / max(base['ari'], 1e-9):.2f}×"
            )
        sweep: dict[str, dict[str, float]] = result["sweep"]  # type: ignore[assignment]
        lines += ["", "Threshold sweep (average linkage, cosine distance):", ""]
        lines += ["| threshold | NMI | ARI | clusters | noise |", "|---|---|---|---|---|"]
        for threshold, r in sweep.items():
            lines.append(
                f"| {threshold} | {r['nmi']:.3f} | {r['ari']:.3f} | {r['clusters']} | "
                f"{100 * r['noise_fraction']:.1f}% |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["bitext", "banking77"])
    parser.add_argument("--banking77-split", default="test", choices=["test", "train"])
    parser.add_argument("--device", default="cpu", help="encoder device: cpu, cuda or auto")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/intent_discovery.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not DATA.is_dir():
        sys.stderr.write(f"data sets not found at {DATA}\n")
        return 2
    embedder = MiniLMEmbedder(device=args.device)
    results = {
        key: run_data_set(data, embedder, args.seed)
        for key, data in data_sets(args.banking77_split).items()
        if not args.only or key == args.only
    }
    report = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, device={args.device}",
        "defaults": {
            "linkage": "average when cutting by distance, ward with a target count",
            "distance_threshold": ClusterConfig().distance_threshold,
            "min_cluster_size": ClusterConfig().min_cluster_size,
        },
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(markdown(results) + f"\nFull results: {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
