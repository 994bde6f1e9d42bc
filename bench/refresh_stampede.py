"""Refresh stampede: N concurrent calls through the Sage client on an expired access token.

Sage rotates refresh tokens, so however many callers find the token expired at once, exactly one refresh
must reach Sage. Runs against the sandbox served by a live server thread (real HTTP), in a throwaway test
database (never your data), ideally on PostgreSQL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sageint .venv/bin/python bench/refresh_stampede.py --calls 50

Prints the number of refreshes (must be 1) and the median and p95 latency of the calls.
"""

import argparse
import os
import statistics
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sageint.settings")
import tests.env_defaults  # noqa: F401  (the test-run defaults: keys, sandbox on)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50, help="concurrent callers (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="expire-and-stampede rounds (default 3)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from connections import http_session
    from connections.models import Connection
    from tests.fixtures_sage import RefreshCountingAdapter, connect_end_user_via_link, stampede
    from tests.processes import sandbox_served_here, throwaway_test_database

    vendor = connection.vendor
    if vendor != "postgresql":
        print(f"note: running on {vendor}; the issue asks for PostgreSQL (set DATABASE_URL=postgres://…)")
    setup_test_environment()
    with throwaway_test_database(), sandbox_served_here() as base:
        adapter = RefreshCountingAdapter(pool_size=args.calls * 2)
        http_session.mount(f"{base}/sandbox/", adapter)
        try:
            end_user = connect_end_user_via_link("bench-user")
            for round_number in range(1, args.rounds + 1):
                Connection.objects.filter(end_user=end_user).update(
                    access_token_expires_at=timezone.now() - timedelta(seconds=1)
                )
                before = adapter.refreshes
                result = stampede(end_user, args.calls)
                refreshes = adapter.refreshes - before
                failures = result.errors + [
                    RuntimeError(f"HTTP {status}") for status in result.statuses if status != 200
                ]
                latencies = sorted(result.latencies)
                p95 = latencies[max(int(len(latencies) * 0.95) - 1, 0)] if latencies else float("nan")
                median = statistics.median(latencies) if latencies else float("nan")
                print(
                    f"round {round_number}: {args.calls} calls, refreshes={refreshes}, "
                    f"ok={result.statuses.count(200)}, "
                    f"failed={len(failures)}, median={median * 1000:.1f} ms, p95={p95 * 1000:.1f} ms"
                )
                for failure in failures[:3]:
                    print(f"  failure: {type(failure).__name__}: {failure}")
                if refreshes != 1 or failures:
                    return 1
        finally:
            http_session.unmount(f"{base}/sandbox/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
