#!/usr/bin/env bash
# Set up everything on a fresh machine (Python 3.11, no GPU needed): a virtual environment in
# .venv holding the harness and every in-tree plugin, installed as a third-party plugin would be.
# Safe to run again: it returns in a second when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=.venv
stamp=$venv/.bench-setup
# Any change to a pyproject (or to this script) re-runs the install.
wanted=$( (cat pyproject.toml plugins/*/pyproject.toml "$0"; echo "extras=${BENCH_EXTRAS-default}") | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/bench" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    exit 0
fi

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip="$venv/bin/python -m pip"
$pip install --quiet --disable-pip-version-check "torch==2.13.0"  # pinned: other specs may pull a multi-GB CUDA build
# nlb_tools 0.0.4 pins pandas<=1.3.4 (no wheels for Python 3.11): install it alone, beside a modern
# pandas; bench-nlb's compat layer fixes what newer pandas breaks.
$pip install --quiet --disable-pip-version-check --no-deps "nlb_tools==0.0.4"
# BENCH_EXTRAS picks the harness' optional extras (comma-separated; empty: none beyond test);
# by default PostgreSQL (bench tune across machines) and Ray (bench run --engine ray), whose tests CI runs.
extras=${BENCH_EXTRAS-postgresql,ray}
editables=(-e ".[test${extras:+,$extras}]")
for plugin in plugins/bench-*/; do
    editables+=(-e "$plugin")
done
$pip install --quiet --disable-pip-version-check "${editables[@]}"
echo "$wanted" > "$stamp"
echo "bench set up in $venv ($("$venv/bin/bench" --version))"
