"""How much the proxy adds: the same request sent straight to an upstream and through sageint, compared.

    .venv/bin/python bench/proxy_overhead.py [--seconds 5] [--upstream-delay-ms 0] [--concurrency 1 16]
        [--server production|flags] [--workers N --threads N] [--no-forwarder]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--phases [--profile]]

    Issue 15's two runs:  --upstream-delay-ms 200 --concurrency 48   and   --concurrency 1 16

Starts, in a scratch directory: a fast upstream stub standing in for Sage (gunicorn, canned `/v3.1/contacts`
envelope), and sageint itself under gunicorn (DEBUG off, SQLite in the scratch directory, or a throwaway
database created on the PostgreSQL server of --database-url and dropped afterwards; SAGE_API_URL pointing at the
stub, one end user with a stored, unexpired connection). Then, for 1 and 16 concurrent clients (each its own
keep-alive session), it measures latency (median, p95) and throughput of `GET /v3.1/contacts?email=…` direct to
the stub and `GET /api/v1/proxy/sageaccounting/contacts?email=…` through the proxy with a signed user token,
and prints the ratios against the targets (median added latency ≤ 2 ms at 1 client; proxy throughput ≥ 80 % of
direct at 16 clients). At 1 client it also measures, as a reference, the same request refused after
authentication (a 400 for a bad path): sageint's own floor, without the call to Sage or the log row.

Beside them, a bare Python forwarder (`forwarder_app`: a WSGI app that only forwards the request with a fixed
token, under the same gunicorn configuration) measures the limit of any Python proxy hop; sageint's own work per
call is its added median minus the forwarder's.

`--upstream-delay-ms` makes the stub answer after a pause, like a remote Sage would; with 0 the comparison is
the proxy's full CPU cost against a stub that does almost nothing (on a small machine the load generator, the
stub and sageint then share the same CPUs, and the proxy's own HTTP server and client hop cost about what the
direct call costs). `--phases` times each phase of a proxied call in one process (Django and middleware, token
check, database read, the call to the stub, the log write); `--profile` adds a cProfile of full calls.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
EMAIL = "ada.lovelace@example.com"
USER_TOKEN_SECRET = "bench-only-user-token-secret-0123456789"
UPSTREAM_TOKEN = "bench-upstream-access-token"
BUSINESS_ID = "bench-business"
END_USER_SUB = "bench-user"

# --- the upstream stub (imported by gunicorn as bench.proxy_overhead:upstream_app) -----------------------

_CONTACTS = json.dumps(
    {
        "$total": 1,
        "$page": 1,
        "$next": None,
        "$back": None,
        "$itemsPerPage": 20,
        "$items": [
            {
                "id": "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
                "displayed_as": "Ada Lovelace (ADA001)",
                "$path": "/contacts/9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
                "email": EMAIL,
            }
        ],
    }
).encode()


def upstream_app(environ, start_response):
    """Answers like Sage's contact list, as fast as it can (after BENCH_UPSTREAM_DELAY_MS, if set)."""
    delay = float(os.environ.get("BENCH_UPSTREAM_DELAY_MS", "0")) / 1000
    if delay:
        time.sleep(delay)
    if environ.get("HTTP_AUTHORIZATION") != f"Bearer {UPSTREAM_TOKEN}":
        body = b'[{"$severity": "error", "$dataCode": "AuthorizationFailure", "$message": "Bad token", "$source": ""}]'
        start_response(
            "401 Unauthorized", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(_CONTACTS))),
            ("X-Business", environ.get("HTTP_X_BUSINESS", BUSINESS_ID)),
        ],
    )
    return [_CONTACTS]


_forwarding_session: requests.Session | None = None


def forwarder_app(environ, start_response):
    """The limit of a Python proxy hop: forwards the request to the stub with a fixed token, nothing else (no
    Django, no user token, no database, no log). Served by the same gunicorn configuration as sageint."""
    global _forwarding_session
    if _forwarding_session is None:
        session = requests.Session()
        session.trust_env = False
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))
        _forwarding_session = session
    query = environ.get("QUERY_STRING")
    url = os.environ["BENCH_UPSTREAM_URL"] + environ["PATH_INFO"] + (f"?{query}" if query else "")
    answer = _forwarding_session.get(
        url,
        headers={
            "Authorization": f"Bearer {UPSTREAM_TOKEN}",
            "X-Business": BUSINESS_ID,
            "Accept": "application/json",
        },
        timeout=30,
    )
    body = answer.content
    start_response(
        f"{answer.status_code} {answer.reason}",
        [
            ("Content-Type", answer.headers.get("Content-Type", "application/json")),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


# --- setting up -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up within {seconds:.0f}s")


def app_environment(args, scratch: Path, app_port: int, upstream_port: int) -> dict:
    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{app_port}",
        "SAGEINT_ENV_FILE": str(scratch / "no.env"),
        "SAGEINT_VAR_DIR": str(scratch / "var"),
        "DATABASE_URL": args.scratch_database_url or f"sqlite:///{scratch / 'bench.sqlite3'}",
        "STATIC_MANIFEST": "0",
        "SAGE_SANDBOX_ENABLED": "0",
        "SAGE_API_URL": f"http://127.0.0.1:{upstream_port}/v3.1",
        "SAGE_DEV_CLIENT_ID": "bench-client",
        "SAGE_DEV_CLIENT_SECRET": "bench-client-secret",
        "SAGEINT_USER_TOKEN_SECRET": USER_TOKEN_SECRET,
        "SAGEINT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


SETUP_CODE = f"""
from datetime import timedelta
from django.utils import timezone
from connections import crypto
from connections.models import Connection, EndUser
end_user, _ = EndUser.objects.get_or_create(kind=EndUser.Kind.EXTERNAL, external_id={END_USER_SUB!r})
Connection.objects.update_or_create(end_user=end_user, defaults=dict(
    client_id="bench-client", credentials_mode="dev_env", scopes="full_access",
    business_id={BUSINESS_ID!r}, business_name="Bench Ltd",
    access_token_encrypted=crypto.encrypt({UPSTREAM_TOKEN!r}),
    access_token_expires_at=timezone.now() + timedelta(days=30),
    refresh_token_encrypted=crypto.encrypt("bench-refresh-token"),
    refresh_token_expires_at=timezone.now() + timedelta(days=30),
))
"""


@contextmanager
def throwaway_postgres_database(server_url: str):
    """A fresh database on the PostgreSQL server of `server_url` (whose own database is only used to connect),
    dropped afterwards: the bench never touches an existing database."""
    import psycopg

    parts = urlsplit(server_url)
    name = f"sageint_bench_{os.getpid()}_{int(time.time())}"
    admin_dsn = urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_database(env: dict) -> None:
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--run-syncdb", "-v", "0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*manage, "shell", "-c", SETUP_CODE], env=env, cwd=ROOT, check=True)


def start_gunicorn(
    app: str,
    port: int,
    env: dict,
    *,
    workers: int,
    threads: int,
    log: Path,
    production: bool = False,
    worker_class: str = "",
) -> subprocess.Popen:
    if production:
        # The repository's gunicorn.conf.py, as the README's production command runs it (WEB_* settings).
        command = [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), app]
        env = {**env, "WEB_BIND": f"127.0.0.1:{port}"}
        if workers:
            env["WEB_WORKERS"] = str(workers)
        if threads:
            env["WEB_THREADS"] = str(threads)
        if worker_class:
            command += ["--worker-class", worker_class]
    else:
        command = [
            PYTHON, "-m", "gunicorn", app,
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", worker_class or "gthread",
            "--threads", str(threads),
            # gthread keeps a connection alive only below worker_connections - threads: room for every client.
            "--worker-connections", str(threads + 1000),
            "--keep-alive", "30",
            "--backlog", "256",
            "--log-level", "warning",
        ]  # fmt: skip
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def cpu_seconds(process: subprocess.Popen) -> float:
    """CPU time (user + system) used so far by a server started by start_gunicorn: its master and workers,
    which share its process group. Unlike wall time it hardly depends on what else the machine runs."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == process.pid:  # fields[2]: the process group (the session leader's pid)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


# --- measuring ------------------------------------------------------------------------------------------


def measure(
    url: str,
    headers: dict,
    *,
    clients: int,
    seconds: float,
    warmup: float,
    expect: int = 200,
    cpu_of: subprocess.Popen | None = None,
) -> dict:
    """`clients` threads, each with a keep-alive session, sending `url` back to back for `seconds`; with
    `cpu_of`, also the CPU time that server spent per call while they did."""

    def call(session: requests.Session) -> bool:
        return session.get(url, headers=headers, timeout=30).status_code == expect

    probe = (lambda: cpu_seconds(cpu_of)) if cpu_of is not None else None
    return measure_calls(call, clients=clients, seconds=seconds, warmup=warmup, label=url, probe=probe)


def measure_calls(call, *, clients: int, seconds: float, warmup: float, label: str = "", probe=None) -> dict:
    """`clients` threads, each with its own keep-alive session, running `call(session)` (True when the answer
    is the expected one) back to back for `seconds` after `warmup`. `probe()` (a CPU counter) is read when
    the measuring window opens and when the last call is answered: `cpu_ms` is its growth per call."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start_barrier = threading.Barrier(clients + 1)
    window: dict[str, float] = {}

    def client(index: int) -> None:
        session = requests.Session()
        warm_until = time.monotonic() + warmup
        while time.monotonic() < warm_until:
            call(session)
        start_barrier.wait()
        mine = latencies[index]
        while True:
            began = time.perf_counter()
            if began >= window["end"]:
                break
            answered_as_expected = call(session)
            took = time.perf_counter() - began
            if not answered_as_expected:
                errors[index] += 1
            mine.append(took)
        session.close()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    # The window starts once everybody is warm; perf_counter is shared by all threads.
    window["end"] = float("inf")
    start_barrier.wait()
    probed_at_start = probe() if probe else 0.0
    started = time.perf_counter()
    window["end"] = started + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    probed = probe() - probed_at_start if probe else None
    flat = sorted(latency for per_client in latencies for latency in per_client)
    if not flat:
        raise SystemExit(f"no request completed against {label}")
    return {
        "requests": len(flat),
        "errors": sum(errors),
        "median_ms": statistics.median(flat) * 1000,
        "p95_ms": flat[min(len(flat) - 1, int(len(flat) * 0.95))] * 1000,
        "rps": len(flat) / elapsed,
        "cpu_ms": probed * 1000 / len(flat) if probed is not None else None,
    }


PHASES_CODE = """
import io, logging, statistics, sys, time
import django
django.setup()
from django.conf import settings
import requests
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection as db
from sageint_sdk import mint_user_token
from api.request_log import record_call
from connections import crypto, proxy
from connections.credentials import sage_credentials
from connections.end_users import _verified_claims, decode_user_token, end_user_from_token
from connections.models import Connection
from connections.sage_client import SageClient

CALLS = int(sys.argv[1])
UPSTREAM = sys.argv[2]
PROFILE = sys.argv[3:] == ["profile"]
token = mint_user_token(USER_TOKEN_SECRET, END_USER_SUB, expires_in=3600)
handler = WSGIHandler()
KEYS = (("HS256", settings.SAGEINT_USER_TOKEN_SECRET),)
KEY_LIST = tuple(settings.SAGEINT_ENCRYPTION_KEYS)


def wsgi_get(path, query):
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer " + token,
        "HTTP_ACCEPT": "application/json", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": True,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }
    statuses = []
    body = handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    body.close()  # the request-log write happens here, as under gunicorn
    return statuses[0]


logging.getLogger("django.request").setLevel(logging.ERROR)  # the refused calls below are expected
end_user = end_user_from_token(token)
connection = Connection.objects.get(end_user=end_user)
client = SageClient.for_connection(connection)
ciphertext = connection.access_token_encrypted
session = requests.Session()
session.headers.update({"Authorization": "Bearer " + UPSTREAM_TOKEN, "X-Business": BUSINESS_ID})
log_row = dict(end_user=end_user, method="GET", path="/contacts", query_names=["email"], status_code=200,
               failure=None, attempts=1, duration_ms=1, source="http")
phases = [
    ("A full proxied call, in-process WSGI (no HTTP server)",
     lambda: wsgi_get("/api/v1/proxy/sageaccounting/contacts", "email=" + EMAIL)),
    ("B the same call refused after authenticating (bad path: no Sage call, no log row)",
     lambda: wsgi_get("/api/v1/proxy/sageaccounting/contacts:x", "")),
    ("C   end user + connection from the user token (JWT check cached + 1 query)",
     lambda: end_user_from_token(token)),
    ("      JWT check, first sight of a token (HS256 verify)", lambda: _verified_claims.__wrapped__(token, KEYS)),
    ("      JWT check, token seen before", lambda: decode_user_token(token)),
    ("D   Sage client for the connection", lambda: SageClient.for_connection(connection)),
    ("      access token decryption, first sight (Fernet)", lambda: crypto._decrypt_with.__wrapped__(KEY_LIST, ciphertext)),
    ("      access token decryption, seen before", lambda: crypto.decrypt(ciphertext)),
    ("E   client.send to the stub (requests + urllib3 + stub)",
     lambda: client.send("GET", "/contacts", params=[("email", EMAIL)])),
    ("F     the same by a plain requests.Session.get (what the bench's client also pays)",
     lambda: session.get(UPSTREAM + "/contacts?email=" + EMAIL, timeout=5)),
    ("G   request-log row write (after the answer is sent)", lambda: record_call(**log_row)),
    ("H   connections.proxy.request as the view calls it (D + E + G + path check: see --profile)",
     lambda: proxy.request(end_user, "/contacts", params=[("email", EMAIL)], source="http",
                           connection=end_user.connection)),
]
results = {}
# CPU time of this thread, not wall time: it leaves out the stub's time and whatever else the machine runs.
print(f"{'phase (median of ' + str(CALLS) + ' calls, one thread: CPU ms; wall ms)':<92}{'CPU':>8}{'wall':>8}")
for name, call in phases:
    for _ in range(30):
        call()
    cpu, wall = [], []
    for _ in range(CALLS):
        began_cpu, began = time.thread_time(), time.perf_counter()
        call()
        wall.append(time.perf_counter() - began)
        cpu.append(time.thread_time() - began_cpu)
    results[name[0]] = statistics.median(cpu) * 1000
    print(f"{name:<92}{results[name[0]]:>8.3f}{statistics.median(wall) * 1000:>8.3f}")
print(f"{'  => Django + middleware + view plumbing (B - C)':<92}{results['B'] - results['C']:>8.3f}")
print(f"{'  => view own work: query parse, answer copy, headers, log hand-off (A - B - H)':<92}"
      f"{results['A'] - results['B'] - results['H']:>8.3f}")
print(f"database: {db.vendor}")
if PROFILE:
    import cProfile, pstats
    profiler = cProfile.Profile(time.thread_time)  # CPU time, as above
    profiler.enable()
    for _ in range(CALLS):
        wsgi_get("/api/v1/proxy/sageaccounting/contacts", "email=" + EMAIL)
    profiler.disable()
    print()
    print(f"cProfile of {CALLS} full proxied calls (A), by own time:")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(r"(/api/|/connections/|handlers|middleware|requests/(sessions|adapters)|urllib3/connectionpool|models/(query|base).py)", 45)
"""


def phase_breakdown(env: dict, *, upstream_url: str, calls: int, profile: bool = False) -> None:
    """Where a proxied call's time goes, phase by phase, measured in one process against the same stub."""
    constants = (
        f"USER_TOKEN_SECRET = {USER_TOKEN_SECRET!r}\nEND_USER_SUB = {END_USER_SUB!r}\n"
        f"UPSTREAM_TOKEN = {UPSTREAM_TOKEN!r}\nBUSINESS_ID = {BUSINESS_ID!r}\nEMAIL = {EMAIL!r}\n"
    )
    phases_env = {**env, "DJANGO_SETTINGS_MODULE": "sageint.settings", "PYTHONPATH": f"{ROOT}:{ROOT / 'sdk'}"}
    subprocess.run(
        [PYTHON, "-c", constants + PHASES_CODE, str(calls), upstream_url, *(["profile"] if profile else [])],
        env=phases_env,
        cwd=ROOT,
        check=True,
    )


# Issue 15's two runs, the default: Sage's latency with many callers, then the proxy's own cost (zero delay).
ISSUE_RUNS = ((200.0, [48]), (0.0, [1, 16]))


def load_average() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def start_upstream(port: int, env: dict, *, delay_ms: float, clients: int, log: Path) -> subprocess.Popen:
    upstream_env = {**env, "BENCH_UPSTREAM_DELAY_MS": str(delay_ms)}
    process = start_gunicorn(
        "bench.proxy_overhead:upstream_app", port, upstream_env, workers=1, threads=clients + 4, log=log
    )
    wait_until_up(f"http://127.0.0.1:{port}/")
    return process


def run_scenarios(args, *, delay_ms: float, concurrency: list[int], urls: dict, servers: dict) -> None:
    """One run (one upstream delay): every scenario at every client count, then the figures against targets."""
    print()
    print(f"--- upstream delay {delay_ms:g} ms, clients {' '.join(map(str, concurrency))} ({load_average()})")
    print(
        f"{'scenario':<22}{'requests':>9}{'errors':>7}{'median ms':>11}{'p95 ms':>9}{'req/s':>8}"
        f"{'server CPU ms/call':>20}"
    )
    results = {}
    for clients in concurrency:
        scenarios = ["direct", *([] if args.no_forwarder else ["bare forwarder"]), "proxied"]
        if clients == 1 and not delay_ms:
            # Not a target, a reference: the same request refused (400, bad path) after authenticating, so
            # sageint's own floor (gunicorn, Django, token and database read) shows without Sage or the log.
            scenarios.append("refused (floor)")
        for name in scenarios:
            url, headers, expected = urls[name]
            result = measure(
                url, headers, clients=clients, seconds=args.seconds, warmup=args.warmup, expect=expected,
                cpu_of=servers[name],
            )  # fmt: skip
            results[(name, clients)] = result
            print(
                f"{name + f' x{clients}':<22}{result['requests']:>9}{result['errors']:>7}"
                f"{result['median_ms']:>11.2f}{result['p95_ms']:>9.2f}{result['rps']:>8.0f}"
                f"{result['cpu_ms']:>20.3f}"
            )
    print(f"({load_average()}; server CPU: the stub's for direct, else the hop's own, the stub's excluded)")
    for clients in concurrency:
        direct, proxied = results[("direct", clients)], results[("proxied", clients)]
        share = proxied["rps"] / direct["rps"]
        line = (
            f"{clients:>2} client(s): proxy throughput {share:.0%} of direct; added latency median "
            f"{proxied['median_ms'] - direct['median_ms']:+.2f} ms, p95 {proxied['p95_ms'] - direct['p95_ms']:+.2f} ms"
        )
        if delay_ms and clients >= 48:
            line += f"  [issue 15 target ≥ 90 % of direct: {'met' if share >= 0.9 else 'MISSED'}]"
        print(line)
        bare = results.get(("bare forwarder", clients))
        if bare is None:
            continue
        own = proxied["median_ms"] - bare["median_ms"]
        own_cpu = proxied["cpu_ms"] - bare["cpu_ms"]
        bare_share = proxied["rps"] / bare["rps"]
        zero = not delay_ms
        print(
            f"{'':>13}bare hop adds {bare['median_ms'] - direct['median_ms']:+.2f} ms median; "
            f"sageint's own work {own:+.2f} ms median"
            + (f" [target ≤ 1 ms: {'met' if own <= 1 else 'MISSED'}]" if zero and clients == 1 else "")
        )
        print(
            f"{'':>13}CPU per call: sageint {proxied['cpu_ms']:.3f} ms, bare hop {bare['cpu_ms']:.3f} ms, "
            f"sageint's own {own_cpu:+.3f} ms"
            + (f" [target ≤ 1 ms: {'met' if own_cpu <= 1 else 'MISSED'}]" if zero and clients == 1 else "")
        )
        print(
            f"{'':>13}throughput {bare_share:.0%} of the bare hop's"
            + (
                f" [target ≥ 80 %: {'met' if bare_share >= 0.8 else 'MISSED'}]"
                if zero and clients == 16
                else ""
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per scenario")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up time per scenario")
    parser.add_argument(
        "--concurrency", type=int, nargs="*", help="client counts of a single run (default: issue 15's runs)"
    )
    parser.add_argument(
        "--upstream-delay-ms",
        type=float,
        help="stub's answer delay (Sage's latency) of a single run (default: issue 15's runs, 200 then 0)",
    )
    parser.add_argument(
        "--server",
        choices=["production", "flags"],
        default="production",
        help="production: the repository's gunicorn.conf.py (WEB_* defaults unless --workers/--threads); "
        "flags: gthread with --workers/--threads given on the command line (the older comparison)",
    )
    parser.add_argument(
        "--worker-class",
        default="",
        help="gunicorn worker class of sageint and the forwarder (gthread, gevent…; default: the configuration's)",
    )
    parser.add_argument("--workers", type=int, default=0, help="web workers (default: the configuration's)")
    parser.add_argument(
        "--threads", type=int, default=0, help="threads per web worker (default: the configuration's)"
    )
    parser.add_argument(
        "--no-forwarder",
        action="store_true",
        help="skip the bare Python forwarder (the limit of a proxy hop)",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server (postgres://user@host:port/any-db): the bench creates and drops its own "
        "database there; default: a scratch SQLite file",
    )
    parser.add_argument(
        "--phases", action="store_true", help="also time each phase of a proxied call in-process"
    )
    parser.add_argument("--phases-only", action="store_true", help="only time the phases (no load runs)")
    parser.add_argument("--profile", action="store_true", help="with --phases: also cProfile proxied calls")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, database)")
    args = parser.parse_args()
    args.phases = args.phases or args.phases_only
    if args.phases_only:
        runs = ((0.0, []),)
    elif args.concurrency is None and args.upstream_delay_ms is None:
        runs = ISSUE_RUNS
    else:
        runs = ((args.upstream_delay_ms or 0.0, args.concurrency or [1, 16]),)
    production = args.server == "production"
    if not production:
        args.workers, args.threads = args.workers or os.cpu_count() or 2, args.threads or 8

    sys.path.insert(0, str(ROOT / "sdk"))
    from sageint_sdk import mint_user_token

    resources = ExitStack()
    args.scratch_database_url = (
        resources.enter_context(throwaway_postgres_database(args.database_url)) if args.database_url else ""
    )
    scratch = Path(tempfile.mkdtemp(prefix="sageint-bench-"))
    app_port, upstream_port, forwarder_port = free_port(), free_port(), free_port()
    env = app_environment(args, scratch, app_port, upstream_port)
    env["SAGEINT_METRICS_DIR"] = str(scratch / "metrics")
    processes = []
    upstream = None
    most_clients = max((clients for _, concurrency in runs for clients in concurrency), default=1)
    try:
        prepare_database(env)
        sageint = start_gunicorn(
            "sageint.wsgi:application", app_port, env,
            workers=args.workers, threads=args.threads, log=scratch / "sageint.log", production=production,
            worker_class=args.worker_class,
        )  # fmt: skip
        processes.append(sageint)
        forwarder = None
        if not args.no_forwarder:
            forwarder_env = {**env, "BENCH_UPSTREAM_URL": f"http://127.0.0.1:{upstream_port}/v3.1"}
            forwarder = start_gunicorn(
                "bench.proxy_overhead:forwarder_app", forwarder_port, forwarder_env,
                workers=args.workers, threads=args.threads, log=scratch / "forwarder.log", production=production,
                worker_class=args.worker_class,
            )  # fmt: skip
            processes.append(forwarder)
        user_token = mint_user_token(USER_TOKEN_SECRET, END_USER_SUB, expires_in=3600)
        proxied = f"http://127.0.0.1:{app_port}/api/v1/proxy/sageaccounting/contacts?email={EMAIL}"
        user_headers = {"Authorization": f"Bearer {user_token}", "Accept": "application/json"}
        urls = {
            "direct": (f"http://127.0.0.1:{upstream_port}/v3.1/contacts?email={EMAIL}", {
                "Authorization": f"Bearer {UPSTREAM_TOKEN}", "X-Business": BUSINESS_ID,
                "Accept": "application/json"}, 200),
            "bare forwarder": (f"http://127.0.0.1:{forwarder_port}/contacts?email={EMAIL}",
                               {"Accept": "application/json"}, 200),
            "proxied": (proxied, user_headers, 200),
            "refused (floor)": (proxied.replace("/contacts?", "/contacts:x?"), user_headers, 400),
        }  # fmt: skip
        shape = (
            f"{args.workers or 'default'} workers x {args.threads or 'default'} threads"
            if not production or args.workers or args.threads
            else "gunicorn.conf.py defaults"
        )
        print(
            f"sageint bench: {os.cpu_count()} CPUs, web server {args.server} ({shape}"
            f"{', ' + args.worker_class if args.worker_class else ''}), {args.seconds:g} s per scenario, "
            f"database {'PostgreSQL (throwaway database)' if args.database_url else 'SQLite'}, {load_average()}"
        )
        for delay_ms, concurrency in runs:
            # One stub per run, on the same port, so sageint's SAGE_API_URL stays right.
            if upstream is not None:
                stop(upstream)
                processes.remove(upstream)
            upstream = start_upstream(
                upstream_port,
                env,
                delay_ms=delay_ms,
                clients=most_clients,
                log=scratch / f"upstream-{delay_ms:g}.log",
            )
            processes.append(upstream)
            wait_until_up(f"http://127.0.0.1:{app_port}/api/v1/openapi.json")
            check = requests.get(proxied, headers=user_headers, timeout=10)
            if check.status_code != 200:
                raise SystemExit(f"the proxy answered {check.status_code}: {check.text[:500]}")
            if forwarder is not None:
                wait_until_up(urls["bare forwarder"][0])
            servers = {
                "direct": upstream,
                "bare forwarder": forwarder,
                "proxied": sageint,
                "refused (floor)": sageint,
            }
            if concurrency:
                run_scenarios(args, delay_ms=delay_ms, concurrency=concurrency, urls=urls, servers=servers)
        if args.phases:
            print()
            phase_breakdown(
                env, upstream_url=f"http://127.0.0.1:{upstream_port}/v3.1", calls=500, profile=args.profile
            )
    finally:
        for process in reversed(processes):
            stop(process)
        resources.close()  # drops the throwaway PostgreSQL database, if any
        if args.keep:
            print(f"scratch directory kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
