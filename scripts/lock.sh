#!/usr/bin/env bash
# Re-resolve requirements/lock.txt from pyproject.toml's dependencies and dev extras.
# Needs only Python 3.10 and the package registry; downloads metadata, not wheels.
#
# By default the current pins are kept as constraints, so adding a dependency adds its tree
# and moves nothing else. `scripts/lock.sh --upgrade` re-resolves every package afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
CONSTRAINTS=(-c requirements/lock.txt)
if [[ "${1:-}" == "--upgrade" ]]; then
    CONSTRAINTS=()
elif [[ -n "${1:-}" ]]; then
    echo "usage: scripts/lock.sh [--upgrade]" >&2
    exit 2
fi
PY=${PYTHON:-$(pyenv root)/versions/$(pyenv versions --bare | grep -E '^3\.10' | sort -V | tail -n1)/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --upgrade "pip>=24,<27"
"$tmp/venv/bin/python" - "$tmp/reqs.txt" <<'PY'
import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import pip._vendor.tomli as tomllib
data = tomllib.load(open("pyproject.toml", "rb"))["project"]
deps = data["dependencies"] + data["optional-dependencies"]["dev"]
open(sys.argv[1], "w").write("\n".join(deps) + "\n")
PY
"$tmp/venv/bin/pip" install --quiet --dry-run --ignore-installed --report "$tmp/report.json" -r "$tmp/reqs.txt" "${CONSTRAINTS[@]}"
"$tmp/venv/bin/python" - "$tmp/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
pins = sorted(f"{i['metadata']['name']}=={i['metadata']['version']}" for i in report["install"])
header = ("# Exact dependency tree for Python 3.10 (linux x86_64), installed by `make setup`.\n"
          "# Regenerate with scripts/lock.sh after changing dependencies in pyproject.toml.\n")
open("requirements/lock.txt", "w").write(header + "\n".join(pins) + "\n")
print(f"lock: {len(pins)} packages")
PY
