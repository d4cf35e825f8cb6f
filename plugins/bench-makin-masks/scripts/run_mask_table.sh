#!/usr/bin/env bash
# Train the full mask-variant table (rnnf x every makin and random mode x 3 seeds, 10 minutes each)
# two runs at a time, then print it. Runs go to BENCH_HOME (default: a store of its own; each run is
# labelled with its mode, so in a leaderboard store they are rows of their own, rnnf [dot-l] x makin).
#   plugins/bench-makin-masks/scripts/run_mask_table.sh [extra mask_table.py options, e.g. --epochs 60 --max-minutes 3]
set -euo pipefail
cd "$(dirname "$0")/../../.."
export BENCH_HOME=${BENCH_HOME:-$PWD/../bench_home_mask_table}
python=.venv/bin/python
table=plugins/bench-makin-masks/scripts/mask_table.py
# /work/tools/heavy (when present) waits for a free CPU slot and runs with one thread.
heavy=$([ -x /work/tools/heavy ] && echo /work/tools/heavy || echo env)
cells=$($python -c "import runpy; print(' '.join(f'{o}:{m}' for o, m in runpy.run_path('$table')['CELLS']))")
for cell in $cells; do
    for seed in 0 1 2; do
        echo "$cell $seed"
    done
done | xargs -P 2 -L 1 sh -c "$heavy $python $table --cell \$0 --seeds \$1 $* > /dev/null"
$python $table --report "$@"
