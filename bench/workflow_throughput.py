"""Workflow throughput: N runs of the example workflow ("Invoice and collect payment") through a real Celery
worker on Redis against the sandbox over HTTP, beside the same Sage calls made by a plain loop through the
in-process SDK (connections.proxy.request) in the same run.

Runs in a throwaway test database (never your data), on PostgreSQL + Redis:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h5 CELERY_BROKER_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/workflow_throughput.py --runs 500

Prints runs per second, p50/p95 run duration, the share of a run's time spent in the engine versus waiting on
Sage, and the engine's time per run against the plain loop's (the goal: at most 10 % more).
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sageint.settings")
import tests.env_defaults  # noqa: E402, F401  (the test-run defaults: keys, sandbox on)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * share + 0.5) - 1, 0)] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500, help="workflow runs (default 500)")
    parser.add_argument(
        "--loop-runs", type=int, default=100, help="plain-loop rounds for the baseline (default 100)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (solo pool each; default 1)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from connections import proxy
    from tests.fixtures_sage import connect_end_user_via_link
    from tests.processes import sandbox_served_here, stop, throwaway_test_database
    from tests.workflows.worker_process import start_worker
    from workflows.engine import render_request, user_fields
    from workflows.examples import EXAMPLE_INPUT, ensure_example_workflow
    from workflows.models import Run
    from workflows.runs import create_run

    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        print("This benchmark needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…")
        return 2
    setup_test_environment()
    queue = f"workflow-bench-{uuid.uuid4().hex[:8]}"
    workers = []
    with throwaway_test_database(), sandbox_served_here(SAGEINT_WORKFLOW_QUEUE=queue) as base:
        try:
            call_command("sandbox_seed", "--if-empty", verbosity=0)
            end_user = connect_end_user_via_link("bench-user")
            workflow, _ = ensure_example_workflow()
            definition = workflow.definition()

            # Baseline: the same calls, with the same rendered requests, made by a plain loop.
            loop_times = []
            for _ in range(args.loop_runs):
                started = time.perf_counter()
                context = {"trigger": EXAMPLE_INPUT, "user": user_fields(end_user), "steps": {}}
                for step in definition:
                    request = render_request(step, context)
                    response = proxy.request(
                        end_user,
                        request["path"],
                        method=request["method"],
                        json=request["body"],
                        params=request["query"] or None,
                    )
                    assert response.status_code < 400, response.content[:300]
                    context["steps"][step["key"]] = {
                        "status": response.status_code,
                        "response": response.json(),
                    }
                loop_times.append(time.perf_counter() - started)

            for index in range(args.workers):
                workers.append(
                    start_worker(queue=queue, sandbox_url=f"{base}/sandbox", name=f"bench{index}-{queue}")
                )
            # Warm-up run: the worker is up and its connections are open before the clock starts.
            warm = create_run(
                workflow=workflow, end_user=end_user, trigger="manual", trigger_input=EXAMPLE_INPUT
            )
            deadline = time.monotonic() + 120
            while not Run.objects.get(pk=warm.pk).is_finished:
                if time.monotonic() > deadline:
                    print("The worker did not finish the warm-up run in 120 s.")
                    return 1
                time.sleep(0.2)

            started = time.perf_counter()
            run_ids = [
                create_run(
                    workflow=workflow, end_user=end_user, trigger="api", trigger_input=EXAMPLE_INPUT
                ).pk
                for _ in range(args.runs)
            ]
            pending = Run.objects.filter(pk__in=run_ids).exclude(status__in=Run.FINISHED)
            while pending.exists():
                time.sleep(0.5)
            wall = time.perf_counter() - started

            runs = list(Run.objects.filter(pk__in=run_ids).prefetch_related("step_runs"))
            failed = [run for run in runs if run.status != Run.Status.SUCCEEDED]
            durations = [run.duration_ms / 1000 for run in runs]
            sage = [sum(s.duration_ms or 0 for s in run.step_runs.all()) / 1000 for run in runs]
            engine = [total - waited for total, waited in zip(durations, sage, strict=True)]
            loop_mean = statistics.mean(loop_times)
            run_mean = statistics.mean(durations)
            print(f"workflow runs: {len(runs)} ({len(failed)} not succeeded), {args.workers} worker(s)")
            print(f"  throughput: {len(runs) / wall:.1f} runs/s ({wall:.1f} s wall, enqueue to last finish)")
            print(
                f"  run duration: p50 {percentile(durations, 0.5) * 1000:.1f} ms, "
                f"p95 {percentile(durations, 0.95) * 1000:.1f} ms, mean {run_mean * 1000:.1f} ms"
            )
            print(
                f"  time in the engine: {statistics.mean(engine) * 1000:.1f} ms per run "
                f"({sum(engine) / sum(durations) * 100:.1f} %); waiting on Sage: "
                f"{statistics.mean(sage) * 1000:.1f} ms ({sum(sage) / sum(durations) * 100:.1f} %)"
            )
            print(f"plain loop (same {len(definition)} calls, in-process SDK), {len(loop_times)} rounds:")
            print(
                f"  per round: p50 {percentile(loop_times, 0.5) * 1000:.1f} ms, "
                f"p95 {percentile(loop_times, 0.95) * 1000:.1f} ms, mean {loop_mean * 1000:.1f} ms"
            )
            print(
                f"engine run vs plain loop: {(run_mean / loop_mean - 1) * 100:+.1f} % time per run "
                "(goal: at most +10 %)"
            )
            for run in failed[:3]:
                print(f"  not succeeded: run {run.pk} {run.status}: {run.error[:200]}")
            return 1 if failed else 0
        finally:
            stop(workers)


if __name__ == "__main__":
    sys.exit(main())
