#!/usr/bin/env bash
# `make bench`: run every benchmarks/bench_*.py in turn; each prints its own figures.
# BENCH=name runs one (e.g. BENCH=import). Benchmarks that need ../shared/data or PostgreSQL
# say so and skip.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for script in benchmarks/bench_${BENCH:-*}.py; do
  echo "=== $script"
  .venv/bin/python "$script" || status=1
done
exit $status
