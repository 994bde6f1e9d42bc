"""How fast the sandbox's bulk seed fills a business (target: 10 000 contacts and 10 000 invoices well under a minute).

    .venv/bin/python bench/sandbox_seed.py [--contacts 10000] [--invoices 10000] [--database-url URL]

Works in a scratch SQLite database (or the one given with --database-url, e.g. a PostgreSQL test database), so
the development database is never touched. Creates the tables, runs `sandbox_seed --business <demo business>
--contacts N --invoices N` and prints the elapsed time and rows per second, then reads one page of 200 invoices
with attributes=all through the sandbox API to show a large business still pages quickly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--database-url", help="Default: SQLite in a scratch directory.")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="sandbox-seed-bench-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{scratch}/bench.sqlite3"
    os.environ["SAGEINT_VAR_DIR"] = scratch
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    # The scratch run stores no connection: a throwaway key satisfies the setting without DEBUG.
    from cryptography.fernet import Fernet

    os.environ.setdefault("SAGEINT_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ["SAGE_SANDBOX_ENABLED"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sageint.settings")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import override_settings

    from sandbox.models import Business
    from sandbox.seed_identities import demo_business

    # Tables straight from the models, so the bench runs whether or not sandbox migrations exist yet.
    with override_settings(MIGRATION_MODULES={"sandbox": None}):
        call_command("migrate", run_syncdb=True, verbosity=0)
    business: Business = demo_business()

    elapsed = seed_business(business, contacts=args.contacts, invoices=args.invoices)
    rows = args.contacts + args.invoices
    print(
        f"Seeded {args.contacts} contacts and {args.invoices} invoices in {elapsed:.2f}s ({rows / elapsed:,.0f} records/s)"
    )
    print(f"Database: {os.environ['DATABASE_URL'].split('@')[-1]}")

    _time_one_page(business)
    if not args.database_url:
        shutil.rmtree(scratch, ignore_errors=True)


def seed_business(business, *, contacts: int, invoices: int) -> float:
    """Fill the sandbox `business` with that many contacts and invoices (`sandbox_seed`); the seconds it took."""
    from django.core.management import call_command

    started = time.monotonic()
    call_command(
        "sandbox_seed",
        "--business",
        business.id,
        "--contacts",
        str(contacts),
        "--invoices",
        str(invoices),
        verbosity=0,
    )
    return time.monotonic() - started


def _time_one_page(business) -> None:
    """Serve page 2 of 200 invoices with attributes=all through the list view (OAuth skipped: it is not timed)."""
    from django.test import RequestFactory

    from sandbox.resources import sales_invoices

    request = RequestFactory().get("/sales_invoices", {"attributes": "all", "items_per_page": 200, "page": 2})
    request.business = business
    started = time.monotonic()
    response = sales_invoices.list_invoices(request)
    elapsed = time.monotonic() - started
    print(
        f"One page of 200 invoices with attributes=all: {elapsed * 1000:.0f} ms ({len(response.content):,} bytes)"
    )


if __name__ == "__main__":
    main()
