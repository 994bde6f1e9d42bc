"""Other processes working on this process's test database (Celery workers, a sandbox server), for service tests
and benchmark scripts: the database URL to hand them, stopping them, and a throwaway test database for scripts."""

import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import quote

from django.conf import settings
from django.db import connection, connections


def database_url() -> str:
    """The URL of the database this process uses now (the test database once there is one), for a child."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="") + (
        f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    )
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def stop(processes: Iterable[subprocess.Popen], *, timeout: float = 20) -> None:
    """Ask every process to stop (SIGTERM), then wait for each; one that does not stop in `timeout` is killed."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _NoMigrations(dict):
    """MIGRATION_MODULES that build every table straight from the models, as the test suite does."""

    def __contains__(self, item) -> bool:
        return True

    def __getitem__(self, item) -> None:
        return None


@contextmanager
def throwaway_test_database() -> Iterator[str]:
    """A test database for a benchmark script (never the developer's data), dropped on the way out, even while
    other processes or server threads still hold connections to it (PostgreSQL refuses to drop it then)."""
    settings.MIGRATION_MODULES = _NoMigrations()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield name
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        connections.close_all()
        connection.creation.destroy_test_db(name, verbosity=0)


@contextmanager
def sandbox_served_here(**more_settings) -> Iterator[str]:
    """This app, sandbox included, served by a live server thread of this process over real HTTP, with the
    settings that send the Sage client there (and `more_settings`) in force; yields the server's base URL."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test import override_settings
    from django.test.testcases import LiveServerThread

    server = LiveServerThread("localhost", StaticFilesHandler)
    server.daemon = True
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "localhost", "testserver"]):
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        base = f"http://localhost:{server.port}"
        try:
            with override_settings(
                SITE_URL=base,
                SAGE_SANDBOX_URL=f"{base}/sandbox",
                SAGE_SANDBOX_CALLBACK_URLS=[f"{base}/connect/sageaccounting/callback/"],
                **more_settings,
            ):
                yield base
        finally:
            server.terminate()
            server.join(timeout=10)
