#!/usr/bin/env bash
# Refresh the lock files from pyproject.toml (run after changing a dependency, then run the tests).
#   constraints.txt  what the README's commands and .ci/run install: every extra, newest releases
#                that satisfy pyproject.toml, for every platform (universal markers), Python 3.11+
#   minimum.txt  hwtrial's declared lower bounds, resolved at their lowest: .ci/run installs it
#                in a second environment and runs the pure-core tests, so the bounds stay true
# uv does the resolving (pip-compile cannot resolve at lowest versions); it is only needed here:
#   .venv/bin/pip install uv && bash requirements/compile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-$(command -v uv || echo .venv/bin/uv)}
"$uv" pip compile pyproject.toml --universal --python-version 3.11 \
    --extra test --extra postgres --extra scale --no-header --annotation-style line \
    -o requirements/constraints.txt "$@"
# Every declared lower bound, pinned: the resolution must take exactly these releases.
bounds=$(mktemp)
trap 'rm -f "$bounds"' EXIT
python3 - "$bounds" <<'PY'
import re, sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
with open(sys.argv[1], "w") as out:
    for dep in deps:
        name, lower = re.match(r"\s*([A-Za-z0-9._\[\]-]+)\s*>=\s*([^,;\s]+)", dep).groups()
        name = name.split("[")[0]
        out.write(f"{name}=={lower}\n")
PY
"$uv" pip compile pyproject.toml requirements/minimum-tools.in --universal --python-version 3.11 \
    --resolution lowest-direct --no-header --no-annotate -c "$bounds" \
    -o requirements/minimum.txt "$@"
