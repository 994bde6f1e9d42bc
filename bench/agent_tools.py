"""What an agent tool call costs over the same proxied call, and how /mcp is best served.

    .venv/bin/python bench/agent_tools.py [--seconds 4] [--upstream-delay-ms 0] [--servers wsgi asgi]
        [--workers 2 --threads 8] [--concurrency 1 16]

Starts a stub standing in for Sage (bench/proxy_overhead.py's, answering a contact list) and sageint beside it,
then measures, for each client count, the same Sage call (`GET /contacts?search=…`) four ways:

- direct: straight to the stub (the floor);
- proxied: `GET /api/v1/proxy/sageaccounting/contacts?search=…` (the baseline a tool is compared with);
- tool: `POST /api/v1/tools/search_contacts` (validation, the same proxy call, trimming);
- mcp: `POST /mcp` with a JSON-RPC `tools/call` for search_contacts (legacy-era request, stateless JSON: the
  SDK's Streamable HTTP app behind the user-token check).

`--servers` chooses how sageint is served, so the two ways /mcp could be served are compared in one run:

- wsgi: what ships: gunicorn gthread serving sageint.wsgi; /mcp is a Django view that runs the SDK's app per
  request (agents/mcp_bridge.py);
- asgi: the alternative: uvicorn serving an ASGI router defined below (/mcp to one long-lived SDK app, all else
  to Django's ASGI handler), same number of worker processes.

Run it with `--upstream-delay-ms 100` (a Sage-like latency) to see what each choice does to the proxy's
concurrency: the requirement is that it must not get worse than under the WSGI server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proxy_overhead import (  # noqa: E402
    BUSINESS_ID,
    END_USER_SUB,
    PYTHON,
    UPSTREAM_TOKEN,
    USER_TOKEN_SECRET,
    app_environment,
    free_port,
    measure_calls,
    prepare_database,
    start_gunicorn,
    stop,
    wait_until_up,
)

SEARCH = "ada"

# --- the ASGI alternative (imported by uvicorn as bench.agent_tools:asgi_application) -------------------


def _build_asgi_application():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sageint.settings")
    django.setup()
    from django.core.asgi import get_asgi_application

    from agents import mcp_server
    from api.models import RequestLog

    django_app = get_asgi_application()
    _server, mcp_app = mcp_server.http_app(request_host="", source=RequestLog.Source.MCP)

    async def application(scope, receive, send):
        if (
            scope["type"] == "lifespan"
            or scope["path"] == "/mcp"
            or scope["path"].startswith("/.well-known/oauth-protected-resource")
        ):  # Django refuses lifespan; the SDK's session manager needs it
            await mcp_app(scope, receive, send)
        else:
            await django_app(scope, receive, send)

    return application


def __getattr__(name):  # built on first use, in the uvicorn worker only
    if name == "asgi_application":
        globals()[name] = _build_asgi_application()
        return globals()[name]
    raise AttributeError(name)


def start_uvicorn(port: int, env: dict, *, workers: int, log: Path) -> subprocess.Popen:
    command = [
        PYTHON, "-m", "uvicorn", "bench.agent_tools:asgi_application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


# --- measuring ------------------------------------------------------------------------------------------


def scenarios(app_url: str, upstream_url: str, user_token: str) -> dict:
    auth = {"Authorization": f"Bearer {user_token}"}
    mcp_body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "search_contacts", "arguments": {"search": SEARCH}},
        }
    )
    mcp_headers = {
        **auth,
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }

    def direct(session):
        response = session.get(
            f"{upstream_url}/v3.1/contacts",
            params={"search": SEARCH},
            headers={"Authorization": f"Bearer {UPSTREAM_TOKEN}", "X-Business": BUSINESS_ID},
            timeout=30,
        )
        return response.status_code == 200

    def proxied(session):
        response = session.get(
            f"{app_url}/api/v1/proxy/sageaccounting/contacts",
            params={"search": SEARCH},
            headers=auth,
            timeout=30,
        )
        return response.status_code == 200

    def tool(session):
        response = session.post(
            f"{app_url}/api/v1/tools/search_contacts", json={"search": SEARCH}, headers=auth, timeout=30
        )
        return response.status_code == 200 and response.json()["output"]["items"]

    def mcp(session):
        response = session.post(f"{app_url}/mcp", data=mcp_body, headers=mcp_headers, timeout=30)
        return response.status_code == 200 and not response.json()["result"]["isError"]

    return {"direct": direct, "proxied": proxied, "tool": tool, "mcp": mcp}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 16])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker (wsgi)")
    parser.add_argument("--upstream-delay-ms", type=float, default=0.0, help="the stub's answer delay")
    parser.add_argument("--servers", nargs="*", default=["wsgi", "asgi"], choices=["wsgi", "asgi"])
    args = parser.parse_args()
    args.scratch_database_url = ""

    sys.path.insert(0, str(ROOT / "sdk"))
    from sageint_sdk import mint_user_token

    scratch = Path(tempfile.mkdtemp(prefix="sageint-bench-tools-"))
    app_port, upstream_port = free_port(), free_port()
    env = app_environment(args, scratch, app_port, upstream_port)
    upstream = None
    results: dict[tuple[str, str, int], dict] = {}
    try:
        prepare_database(env)
        upstream = start_gunicorn(
            "bench.proxy_overhead:upstream_app", upstream_port,
            {**env, "BENCH_UPSTREAM_DELAY_MS": str(args.upstream_delay_ms)},
            workers=1, threads=max(args.concurrency) + 8, log=scratch / "upstream.log",
        )  # fmt: skip
        wait_until_up(f"http://127.0.0.1:{upstream_port}/")
        app_url, upstream_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{upstream_port}"
        calls = scenarios(
            app_url, upstream_url, mint_user_token(USER_TOKEN_SECRET, END_USER_SUB, expires_in=3600)
        )
        print(
            f"sageint agent tools bench: {os.cpu_count()} CPUs, {args.workers} worker processes "
            f"(wsgi: gunicorn gthread x{args.threads} threads; asgi: uvicorn), upstream delay "
            f"{args.upstream_delay_ms:g} ms, {args.seconds:g} s per scenario, SQLite"
        )
        print(
            f"{'server':<6}{'scenario':<16}{'requests':>9}{'errors':>7}{'median ms':>11}{'p95 ms':>9}{'req/s':>9}"
        )
        for server in args.servers:
            log = scratch / f"sageint-{server}.log"
            app = (
                start_gunicorn("sageint.wsgi:application", app_port, env, workers=args.workers,
                               threads=args.threads, log=log)
                if server == "wsgi"
                else start_uvicorn(app_port, env, workers=args.workers, log=log)
            )  # fmt: skip
            try:
                wait_until_up(f"{app_url}/api/v1/openapi.json")
                for name, call in calls.items():
                    if not call(requests):
                        raise SystemExit(f"{server}: the {name} call failed; see {log}")
                for clients in args.concurrency:
                    for name, call in calls.items():
                        if name == "direct" and server != args.servers[0]:
                            continue
                        result = measure_calls(
                            call, clients=clients, seconds=args.seconds, warmup=args.warmup, label=name
                        )
                        results[(server, name, clients)] = result
                        print(
                            f"{server:<6}{name + f' x{clients}':<16}{result['requests']:>9}{result['errors']:>7}"
                            f"{result['median_ms']:>11.2f}{result['p95_ms']:>9.2f}{result['rps']:>9.0f}"
                        )
            finally:
                stop(app)
        print()
        for server in args.servers:
            for clients in args.concurrency:
                proxied = results[(server, "proxied", clients)]
                parts = []
                for name in ("tool", "mcp"):
                    result = results[(server, name, clients)]
                    parts.append(
                        f"{name} +{result['median_ms'] - proxied['median_ms']:.2f} ms median "
                        f"({result['rps'] / proxied['rps']:.0%} of proxied req/s)"
                    )
                print(f"{server} x{clients}: over the proxied call: " + "; ".join(parts))
        if "wsgi" in args.servers and "asgi" in args.servers:
            for clients in args.concurrency:
                wsgi, asgi = results[("wsgi", "proxied", clients)], results[("asgi", "proxied", clients)]
                print(
                    f"proxy x{clients}: asgi serves {asgi['rps']:.0f} req/s against wsgi's {wsgi['rps']:.0f} "
                    f"({asgi['rps'] / wsgi['rps']:.0%}), median {asgi['median_ms']:.1f} ms vs {wsgi['median_ms']:.1f} ms"
                )
    finally:
        if upstream is not None:
            stop(upstream)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
