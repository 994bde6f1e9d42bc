"""Test-run defaults, loaded as a pytest plugin (`-p tests.env_defaults`) before pytest-django reads the settings."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("SAGE_SANDBOX_ENABLED", "1")
os.environ.setdefault("STATIC_MANIFEST", "0")  # tests do not run collectstatic
# Connections: a fixed Fernet key and user-token secret so tests never depend on DEBUG-derived defaults.
os.environ.setdefault("SAGEINT_ENCRYPTION_KEYS", "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=")
os.environ.setdefault("SAGEINT_USER_TOKEN_SECRET", "tests-only-user-token-secret-0123456789abcdef")
# Connecting starts a background sync (records app): tests that want it turn it on, so no other test's connect
# sends tasks to a broker or to the service run's worker.
os.environ.setdefault("RECORDS_SYNC_ON_CONNECT", "0")
# Sync read-ahead calls Sage from a second thread, whose database connection cannot see a test's uncommitted rows:
# on for the transactional tests that check it, off otherwise.
os.environ.setdefault("RECORDS_SYNC_READ_AHEAD", "0")
# Webhook tests (and the service run's worker) deliver to receivers on 127.0.0.1; the SSRF tests switch this off.
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")
# Metrics files of this test run only (prometheus_client's multiprocess folder): counters of another run on the same
# checkout must not add up with this one's.
if "SAGEINT_METRICS_DIR" not in os.environ:
    import tempfile

    os.environ["SAGEINT_METRICS_DIR"] = tempfile.mkdtemp(prefix="sageint-test-metrics-")

# Parallel runs (pytest-xdist, `make test`): each test process gets what the others must not see. pytest-django
# already gives it its own test database; here its own metrics folder, and on Redis its own database number (the
# base URL's number plus the process's index), so queues, worker pings and Redis keys never mix. Done once per
# process tree: the Celery workers a test starts inherit the result and import this module again.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker and os.environ.get("SAGEINT_TEST_PROCESS") != _worker:
    import re

    os.environ["SAGEINT_TEST_PROCESS"] = _worker
    os.environ["SAGEINT_METRICS_DIR"] = os.path.join(os.environ["SAGEINT_METRICS_DIR"], _worker)
    _broker = os.environ.get("CELERY_BROKER_URL", "")
    _redis_db = re.fullmatch(r"(rediss?://[^/]*/)(\d+)", _broker)
    if _redis_db:
        _number = int(_redis_db.group(2)) + int(_worker.removeprefix("gw"))
        os.environ["CELERY_BROKER_URL"] = f"{_redis_db.group(1)}{_number}"
