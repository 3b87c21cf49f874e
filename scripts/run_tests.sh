#!/usr/bin/env bash
# The whole test suite. pytest's "no tests collected" (exit 5) is a failure here too.
set -uo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false TF_CPP_MIN_LOG_LEVEL=3
export RASA_TELEMETRY_ENABLED=false PYTHONPATH="$PWD"
.venv/bin/python -m pytest "$@"
status=$?
if [[ $status -eq 5 ]]; then
    echo "run_tests: no tests were collected" >&2
fi
exit $status
