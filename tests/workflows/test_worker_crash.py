"""A real Celery worker killed in the middle of a run (PostgreSQL + Redis, the service run): no run is left
"running" and no write is sent twice. The test starts and kills its own worker processes, on a queue of its
own, so the service run's shared worker is never touched."""

import os
import signal
import subprocess
import time

import pytest

from tests.services import require_service, uses_postgresql, uses_redis_broker
from tests.workflows import worker_process
from tests.workflows.conftest import invoice_input
from workflows.models import Run, StepRun
from workflows.recovery import recover_stalled_runs
from workflows.runs import create_run

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def crash_world(live_server, settings, seeded_sandbox, connected_end_user, example_workflow):
    require_service(uses_postgresql() and uses_redis_broker(), "PostgreSQL and a Redis broker")
    queue = f"workflows-crash-{os.getpid()}"
    settings.SAGEINT_WORKFLOW_QUEUE = queue
    sandbox_url = f"{live_server.url}/sandbox"
    workers: list[subprocess.Popen] = []

    def start_worker() -> subprocess.Popen:
        workers.append(
            worker_process.start_worker(
                queue=queue, sandbox_url=sandbox_url, name=f"crash{len(workers)}-{os.getpid()}"
            )
        )
        return workers[-1]

    yield start_worker
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
        worker.wait(timeout=30)


def wait_for(condition, *, timeout: float = 60.0, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def sending(run: Run, key: str) -> bool:
    return StepRun.objects.filter(
        run=run, key=key, status=StepRun.Status.RUNNING, sent_at__isnull=False
    ).exists()


def reached_sage(fault) -> bool:
    """The sandbox has taken the request (its hang fault is used up): the worker is now waiting for Sage."""
    from sandbox.models import FaultRule

    return not FaultRule.objects.filter(pk=fault.pk, remaining__gt=0).exists()


def invoice_count() -> int:
    from sandbox.models.accounting import SalesInvoice

    return SalesInvoice.objects.count()


def kill(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


def recover(settings) -> dict:
    settings.SAGEINT_WORKFLOW_STALL_SECONDS = 1
    time.sleep(1.2)
    return recover_stalled_runs()


def start_run(workflow, end_user) -> Run:
    return create_run(workflow=workflow, end_user=end_user, trigger="manual", trigger_input=invoice_input())


def test_worker_killed_while_a_write_is_in_flight_fails_the_run_and_sends_nothing_twice(
    crash_world, settings, connected_end_user, example_workflow
):
    from sandbox.faults import inject_fault

    invoices_before = invoice_count()
    fault = inject_fault(kind="hang", hang_seconds=3, path_prefix="/sales_invoices")
    worker = crash_world()
    run = start_run(example_workflow, connected_end_user)

    wait_for(lambda: sending(run, "create_invoice"), what="the invoice POST to be marked as sending")
    wait_for(lambda: reached_sage(fault), timeout=20, what="the invoice POST to reach the sandbox")
    kill(worker)
    # Sage (the sandbox) still finishes the request the dead worker sent.
    wait_for(
        lambda: invoice_count() == invoices_before + 1, timeout=20, what="the sandbox to create the invoice"
    )

    assert recover(settings)["failed"] == 1
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert "outcome unknown" in run.error
    assert not Run.objects.filter(status=Run.Status.RUNNING).exists()

    # Another worker picking up whatever is queued changes nothing: the write is not re-sent.
    crash_world()
    time.sleep(2)
    assert invoice_count() == invoices_before + 1
    assert StepRun.objects.get(run=run, key="record_payment").status == StepRun.Status.SKIPPED


def test_worker_killed_during_a_read_is_resumed_from_that_step_by_another_worker(
    crash_world, settings, connected_end_user, example_workflow
):
    from sandbox.faults import inject_fault

    invoices_before = invoice_count()
    fault = inject_fault(kind="hang", hang_seconds=3, path_prefix="/bank_accounts")
    worker = crash_world()
    run = start_run(example_workflow, connected_end_user)

    wait_for(lambda: sending(run, "bank_account"), what="the bank account lookup to be marked as sending")
    wait_for(lambda: reached_sage(fault), timeout=20, what="the bank account lookup to reach the sandbox")
    kill(worker)
    assert recover(settings)["resumed"] == 1
    crash_world()

    wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=60, what="the resumed run to finish")
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.claims == 2
    assert invoice_count() == invoices_before + 1
    assert not Run.objects.filter(status=Run.Status.RUNNING).exists()
