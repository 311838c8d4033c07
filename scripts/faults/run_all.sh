#!/usr/bin/env bash
# Every fault drill of docs/deployment.md ("Fault drills"), one after the other.
#
#   scripts/faults/run_all.sh            # the tests (about 3 minutes) and the 60 s Redis outage
#   QUICK=1 scripts/faults/run_all.sh    # the tests only
#
# The tests need PostgreSQL on 127.0.0.1:5432 for their test database (DATABASE_URL, default
# below) and redis-server; the PostgreSQL and Redis that the drills stop and restart are
# private ones on free ports, never the machine's. The full-disk test mounts a 256 kB tmpfs
# (root only; it skips otherwise).
set -euo pipefail
cd "$(dirname "$0")/../.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/taxoloop_faults}"
export TAXOLOOP_REQUIRE_SERVICES="${TAXOLOOP_REQUIRE_SERVICES:-1}"

echo "== worker killed mid-training, mid-rescore; broker down (simulated minute) =="
.venv/bin/pytest -q tests/integration/test_faults.py tests/integration/test_broker_outage.py
echo "== PostgreSQL stopped, started, restarted under web + worker =="
.venv/bin/pytest -q tests/integration/test_faults_postgres.py
echo "== media disk full =="
.venv/bin/pytest -q -rs tests/integration/test_faults_disk.py
if [ -z "${QUICK:-}" ]; then
  echo "== Redis stopped for a real minute under web + worker + beat =="
  .venv/bin/python scripts/faults/redis_outage.py
fi
