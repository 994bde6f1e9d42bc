#!/usr/bin/env bash
# The production-stack test run: PostgreSQL + Redis + a real Celery worker. Tests that need a service fail here
# (REQUIRE_SERVICES=1) instead of skipping. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CELERY_BROKER_URL="${TEST_CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
export REQUIRE_SERVICES=1
export SECRET_KEY="${SECRET_KEY:-tests-only-not-a-secret}"

# pytest-django runs the tests in a database named test_<name>; the worker must use that one to see their rows.
worker_db="${DATABASE_URL%/*}/test_${DATABASE_URL##*/}"
log_dir="$(mktemp -d)"
DATABASE_URL="$worker_db" CONN_MAX_AGE=0 .venv/bin/python scripts/test_worker.py \
  >"$log_dir/worker.log" 2>&1 &
worker_pid=$!
stop_worker() {
  kill "$worker_pid" 2>/dev/null || true
  wait "$worker_pid" 2>/dev/null || true
}
trap stop_worker EXIT

status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- celery worker log (last 40 lines) ---"
  tail -n 40 "$log_dir/worker.log" || true
fi
exit "$status"
