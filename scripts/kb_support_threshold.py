"""Measure the reply-to-passage MiniLM cosine that ``kb-examples`` keeps a pair above.

On the question set's dev half only: each answerable question's reference answer against
the passages retrieved for the question. A passage of the answer's own article is a
*supporting* passage; the best passage of any other article is a *non-supporting* one
(often on the same topic: the hard case). Prints both distributions and, per threshold,
the share of each at or above it, and the threshold with the largest difference (Youden's
J). Usage::

    python -m training kb --input data/knowledge --out /tmp/kb
    python scripts/kb_support_threshold.py --chunks /tmp/kb \
        --questions data/knowledge_questions/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from common.embeddings import MiniLMEmbedder
from training.knowledge.embed import MINILM_MODEL_NAME
from training.knowledge.qa_examples import ExampleOptions, load_knowledge
from training.knowledge.questions import read_questions, training_questions


def main() -> None:
    """Write the study to stdout as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    embedder = MiniLMEmbedder()
    _, index = load_knowledge(args.chunks, embedder, MINILM_MODEL_NAME)
    options = ExampleOptions()
    supporting, other = [], []
    for q in training_questions(read_questions(args.questions)):
        if not q.answerable or q.answer is None:
            continue
        hits = index.search(q.question, options.k)
        if not hits:
            continue
        vectors = embedder.encode([q.answer, *(h.chunk.text for h in hits)])
        cosines = vectors[1:] @ vectors[0]
        own = [float(c) for h, c in zip(hits, cosines, strict=True) if h.chunk.doc_id == q.article]
        rest = [float(c) for h, c in zip(hits, cosines, strict=True) if h.chunk.doc_id != q.article]
        if own:
            supporting.append(max(own))
        if rest:
            other.append(max(rest))
    pos, neg = np.asarray(supporting), np.asarray(other)
    rows = []
    for t in np.arange(0.2, 0.81, 0.05):
        rows.append(
            {
                "threshold": round(float(t), 2),
                "supporting_kept": round(float((pos >= t).mean()), 3),
                "other_kept": round(float((neg >= t).mean()), 3),
            }
        )
    best = max(rows, key=lambda r: r["supporting_kept"] - r["other_kept"])
    quantiles = {
        f"p{p}": (round(float(np.percentile(pos, p)), 3), round(float(np.percentile(neg, p)), 3))
        for p in (10, 25, 50, 75, 90)
    }
    sys.stdout.write(
        json.dumps(
            {
                "supporting": len(pos),
                "other": len(neg),
                "quantiles (supporting, other)": quantiles,
                "thresholds": rows,
                "youden_best": best,
            },
            indent=1,
        )
        + "\n"
    )
    index.close()


if __name__ == "__main__":
    main()
