#!/usr/bin/env bash
# Build the sample bot's knowledge before `rasa train`: the help centre (data/knowledge) into
# redacted chunks and MiniLM vectors (incremental: a re-run re-embeds only changed chunks).
# config.yml's KnowledgeRetriever reads them (`chunks: models/knowledge`).
# Usage: scripts/build_knowledge.sh [OUT]   (default models/knowledge)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models/knowledge}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONPATH="$PWD"
# PC-123456 is the help centre's example of an order number, not a customer's.
"$PY" -m training kb --input data/knowledge --out "$OUT" --keep PC-123456 --no-progress
# The answer writer's examples (`python -m training kb-examples`) are not built: the sample
# bot serves cited extracts, which measured better than a writer trained within its CPU
# budget (docs/knowledge.md). KB_EXAMPLES=1 builds them for config.yml's answer_examples.
if [[ "${KB_EXAMPLES:-0}" == 1 ]]; then
    # The question set's development half gives examples too; its test half is refused
    # here and its questions are dropped from every other source.
    "$PY" -m training kb-examples --chunks "$OUT" --pairs data/generation/pairs.jsonl \
        --questions data/knowledge_questions/questions.jsonl --split dev \
        --out "$OUT/answer_examples.jsonl"
fi
