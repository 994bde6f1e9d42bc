#!/usr/bin/env bash
# The production-stack test run: PostgreSQL + Redis + a real Celery worker. Tests that need a service fail here
# (REQUIRE_SERVICES=1) instead of skipping. Extra arguments go to pytest.
# Tests run in TEST_WORKERS parallel processes (pytest-xdist; 0: one process). Each process has its own test
# database (test_<name>_gw<i>) and its own Redis database (the broker URL's number plus i, so a run of 4 processes
# on redis://…/0 uses 0-3), and starts its own Celery worker on both when a test needs one (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CELERY_BROKER_URL="${TEST_CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
export REQUIRE_SERVICES=1
export SECRET_KEY="${SECRET_KEY:-tests-only-not-a-secret}"

exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-0}" --dist loadfile "$@"
