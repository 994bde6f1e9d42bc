"""Sync and browse: a full sync of 10 000 contacts and 10 000 invoices, an incremental sync after 50 changes, and
the admin's contact list at page 50, against the sandbox served over real HTTP, in a throwaway test database.

    .venv/bin/python bench/sync_and_browse.py                                       # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sageint .venv/bin/python bench/sync_and_browse.py

Figures printed (the issue's goals in brackets):
- full sync: upstream calls [≤ 110] and time, beside a bare loop that GETs the same pages (same `attributes`,
  200 per page) over HTTP in the same run and only decodes them [sync ≤ 1.3 times the bare loop]. The request budget
  is switched off for this comparison (with the default 50 calls a minute per business, ~105 calls take two
  minutes by design: the budget, not the code, sets the pace).
- incremental sync after 50 changes at Sage: calls per resource [≤ 3].
- admin changelist of the 10 000 mirrored contacts, page 50 of 100 rows: median server time over 20 requests
  [≤ 150 ms] and the query count, beside page 1 and a search (the count must not change).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sageint.settings")
import tests.env_defaults  # noqa: F401  (the test-run defaults: keys, sandbox on)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, connections
    from django.test import override_settings

    class DisableMigrations(dict):  # build the tables straight from the models, as the test suite does
        def __contains__(self, item):
            return True

        def __getitem__(self, item):
            return None

    vendor = connection.vendor
    # No setup_test_environment(): its template instrumentation would be timed as server time.
    settings.MIGRATION_MODULES = DisableMigrations()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    # "Sage" (the sandbox) runs in a process of its own, as Sage runs on machines of its own: its answer time
    # and the sync's own work are then two processes' work, as they are in production.
    server, base = start_sandbox_server(test_db, vendor)
    try:
        with override_settings(
            ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "localhost", "testserver"],
            SITE_URL=base,
            SAGE_SANDBOX_URL=f"{base}/sandbox",
            SAGE_SANDBOX_CALLBACK_URLS=[f"{base}/connect/sageaccounting/callback/"],
            RECORDS_SYNC_BUDGET_REQUESTS=0,
            RECORDS_SYNC_READ_AHEAD=True,
            DEBUG=False,
        ):
            print(f"database: {vendor}; sandbox over HTTP at {base} (its own process)")
            run_benchmark(args)
    finally:
        server.terminate()
        server.wait(timeout=20)
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        connections.close_all()
        connection.creation.destroy_test_db(test_db, verbosity=0)
    return 0


def start_sandbox_server(test_db: str, vendor: str):
    import socket
    import subprocess

    import requests
    from django.conf import settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    if vendor == "postgresql":
        db = settings.DATABASES["default"]
        credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        database_url = f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{test_db}"
    else:
        database_url = f"sqlite:///{test_db}"
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": base,
        "SAGE_SANDBOX_ENABLED": "1",
        "STATIC_MANIFEST": "0",
        "LOG_LEVEL": "WARNING",
    }
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/sandbox/", timeout=2).status_code < 500:
                return server, base
        except requests.ConnectionError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the sandbox server did not start")


def run_benchmark(args) -> None:
    from django.core.management import call_command

    from connections.models import Connection
    from records import sync
    from sandbox.seed_identities import demo_business
    from tests.fixtures_sage import connect_end_user_via_link

    sync._enqueue = lambda step_ids: None  # the steps run here, one after another (no broker, no worker)
    business = demo_business()
    started = time.monotonic()
    call_command(
        "sandbox_seed",
        "--business",
        business.id,
        "--contacts",
        str(args.contacts),
        "--invoices",
        str(args.invoices),
        verbosity=0,
    )
    print(
        f"seeded {args.contacts} contacts and {args.invoices} invoices in {time.monotonic() - started:.1f}s"
    )
    connection = Connection.objects.select_related("end_user").get(
        end_user=connect_end_user_via_link("bench-records-user")
    )
    assert connection.business_id == business.id

    bare_first = bare_loop(connection)
    full = timed_sync(connection)
    bare_second = bare_loop(connection)
    bare = statistics.mean([bare_first[0], bare_second[0]])
    print(
        f"full sync: {full.calls} calls, {full.duration:.2f}s, created {full.created}; "
        f"bare loop: {bare_first[1]} calls, {bare_first[0]:.2f}s and {bare_second[0]:.2f}s; "
        f"ratio {full.duration / bare:.2f}x  [goals: ≤ 110 calls, ≤ 1.3x]"
    )

    make_changes(business, args.changes)
    incremental = timed_sync(connection)
    per_resource = ", ".join(f"{name} {calls}" for name, calls in incremental.calls_per_resource.items())
    print(
        f"incremental sync after {args.changes} changes: {incremental.calls} calls ({per_resource}), "
        f"{incremental.duration:.2f}s, created {incremental.created}, updated {incremental.updated}, "
        f"deleted {incremental.deleted}  [goal: ≤ 3 calls per resource]"
    )
    browse(connection)


class SyncFigures:
    def __init__(self, run, duration: float) -> None:
        self.calls = run.calls
        self.duration = duration
        self.created, self.updated, self.deleted = run.created_count, run.updated_count, run.deleted_count
        self.calls_per_resource = dict(run.steps.values_list("resource", "calls"))


def timed_sync(connection) -> SyncFigures:
    from records import sync

    started = time.perf_counter()
    run = sync.start_sync(connection=connection, trigger="bench")
    for step_id in run.steps.values_list("pk", flat=True):
        sync.run_step(step_id=step_id)
    duration = time.perf_counter() - started
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return SyncFigures(run, duration)


def bare_loop(connection) -> tuple[float, int]:
    """The same list pages as a full sync, over HTTP with a plain requests session, decoded and dropped."""
    import requests
    from django.conf import settings

    from connections import tokens
    from records.resources import RESOURCES

    connection.refresh_from_db()
    headers = {
        "Authorization": f"Bearer {tokens.access_token_for(connection)}",
        "X-Business": connection.business_id,
        "Accept": "application/json",
    }
    session = requests.Session()
    session.trust_env = False
    calls = 0
    started = time.perf_counter()
    for resource in RESOURCES.values():
        page = 1
        while True:
            response = session.get(
                f"{settings.SAGE_SANDBOX_URL}/api/v3.1/{resource.name}",
                params={"items_per_page": 200, "page": page, "attributes": ",".join(resource.attributes)},
                headers=headers,
                timeout=60,
            )
            calls += 1
            response.raise_for_status()
            envelope = response.json()
            if not envelope.get("$next"):
                break
            page += 1
    return time.perf_counter() - started, calls


def make_changes(business, changes: int) -> None:
    """`changes` edits at Sage: renamed contacts, new contacts and voided invoices, in equal parts."""
    from sandbox import models as sage
    from sandbox.resources import contacts, sales_invoices

    third = changes // 3
    for contact in sage.Contact.objects.filter(business=business).order_by("id")[:third]:
        contacts.update_contact(contact=contact, body={"name": f"{contact.name} (renamed)"})
    for number in range(third):
        contacts.create_contact(
            business=business, body={"name": f"Bench New {number}", "contact_type_ids": ["CUSTOMER"]}
        )
    voidable = sage.SalesInvoice.objects.filter(business=business, status="UNPAID", allocations__isnull=True)
    for invoice in voidable.order_by("id")[: changes - 2 * third]:
        sales_invoices.void_or_delete_invoice(invoice=invoice, void_reason="bench")


def browse(connection) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection as db
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = get_user_model().objects.create(username="bench-staff", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(user)
    url = "/admin/records/contact/"

    def measure(params: dict, repeat: int) -> tuple[float, int, int]:
        timings, queries, rows = [], 0, 0
        for _ in range(repeat):
            with CaptureQueriesContext(db) as captured:
                started = time.perf_counter()
                response = browser.get(url, params)
                timings.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
            queries = len(captured.captured_queries)
            rows = response.content.decode().count('<th class="field-name">')
        return statistics.median(timings) * 1000, queries, rows

    total = connection_total(connection)
    middle = min(50, -(-total // 100))  # page 50 of the 10 000 contacts (the middle page of smaller runs)
    browser.get(url, {"p": middle})  # warm-up: templates compiled, connection opened
    page_middle = measure({"p": middle}, 20)
    page_1 = measure({"p": 1}, 5)
    search = measure({"q": "renamed"}, 5)
    filtered = measure({"connection": connection.pk, "p": middle}, 5)
    print(
        f"admin contacts ({total} mirrored): page {middle} of 100 rows median {page_middle[0]:.1f} ms, "
        f"{page_middle[1]} queries, {page_middle[2]} rows  [goal ≤ 150 ms]; page 1: {page_1[0]:.1f} ms, "
        f"{page_1[1]} queries; search: {search[0]:.1f} ms, {search[1]} queries; end-user filter page {middle}: "
        f"{filtered[0]:.1f} ms, {filtered[1]} queries"
    )


def connection_total(connection) -> int:
    from records.models import Contact

    return Contact.objects.filter(connection=connection).count()


if __name__ == "__main__":
    sys.exit(main())
