"""The shipped example, "Invoice and collect payment", end to end on the sandbox, and how the engine fails."""

import json
from decimal import Decimal

import pytest
import requests
from django.db import transaction

from connections import proxy
from tests.workflows.conftest import queued_run, run_now
from workflows.models import Run, Step, StepRun
from workflows.runs import create_run, retry_from_failed_step
from workflows.signals import workflow_run_finished

pytestmark = pytest.mark.django_db


start = queued_run


def sage_errors(message: str) -> bytes:
    return json.dumps([{"$severity": "error", "$dataCode": "RecordInvalid", "$message": message}]).encode()


def test_the_example_runs_green_and_the_invoice_ends_paid(
    seeded_sandbox, connected_end_user, example_workflow, sandbox_transport
):
    run = run_now(start(example_workflow, connected_end_user))

    assert run.status == Run.Status.SUCCEEDED, run.error
    steps = list(run.step_runs.order_by("position"))
    assert [(s.key, s.status, s.response_status) for s in steps] == [
        ("find_contact", "succeeded", 200),
        ("sales_ledger", "succeeded", 200),
        ("bank_account", "succeeded", 200),
        ("create_invoice", "succeeded", 201),
        ("record_payment", "succeeded", 201),
    ]
    invoice = steps[3].response_body
    # Whole-value placeholders kept their type; the payment is allocated to the invoice just made.
    payment_request = steps[4].request["body"]["contact_payment"]
    assert payment_request["allocated_artefacts"] == [
        {"artefact_id": invoice["id"], "amount": invoice["total_amount"]}
    ]
    assert steps[0].request["query"] == {"email": "accounts@acme-widgets.example.com"}
    paid = proxy.request(connected_end_user, f"/sales_invoices/{invoice['id']}").json()
    assert paid["status"]["id"] == "PAID"
    assert Decimal(str(paid["outstanding_amount"])) == 0
    assert sandbox_transport.count("/sales_invoices", method="POST") == 1
    assert all(s.duration_ms is not None and s.attempts == 1 for s in steps)
    assert run.started_at <= run.finished_at


def test_run_finished_signal_is_sent_inside_the_transaction_that_saves_the_status(
    seeded_sandbox, connected_end_user, example_workflow
):
    seen = []

    def listener(sender, run, **kwargs):
        seen.append((run.pk, Run.objects.get(pk=run.pk).status, transaction.get_connection().in_atomic_block))

    workflow_run_finished.connect(listener)
    try:
        run = run_now(start(example_workflow, connected_end_user))
    finally:
        workflow_run_finished.disconnect(listener)
    assert seen == [(run.pk, "succeeded", True)]


def test_a_failing_middle_step_stops_the_run_and_retry_completes_it_without_repeating_the_first_write(
    seeded_sandbox, connected_end_user, example_workflow, sandbox_transport
):
    sandbox_transport.inject(
        "/contact_payments", status=422, body=sage_errors("Bank account is closed"), times=1
    )
    failed = run_now(start(example_workflow, connected_end_user))

    assert failed.status == Run.Status.FAILED
    assert failed.error == "Step 'record_payment' failed: Sage answered 422: Bank account is closed"
    assert dict(failed.step_runs.values_list("key", "status")) == {
        "find_contact": "succeeded",
        "sales_ledger": "succeeded",
        "bank_account": "succeeded",
        "create_invoice": "succeeded",
        "record_payment": "failed",
    }

    retried = run_now(retry_from_failed_step(run=failed))

    assert retried.status == Run.Status.SUCCEEDED, retried.error
    assert retried.retry_of == failed and retried.trigger == Run.Trigger.RETRY
    reused = set(retried.step_runs.filter(reused=True).values_list("key", flat=True))
    assert reused == {"find_contact", "sales_ledger", "bank_account", "create_invoice"}
    assert sandbox_transport.count("/sales_invoices", method="POST") == 1  # the invoice was not made twice
    assert (
        sandbox_transport.count("/contact_payments", method="POST") == 2
    )  # the refused one and the real one
    invoice_id = retried.step_runs.get(key="create_invoice").response_body["id"]
    assert proxy.request(connected_end_user, f"/sales_invoices/{invoice_id}").json()["status"]["id"] == "PAID"
    # The failed run keeps its own history.
    failed.refresh_from_db()
    assert failed.step_runs.get(key="record_payment").response_status == 422


def test_only_failed_runs_can_be_retried(seeded_sandbox, connected_end_user, example_workflow):
    run = run_now(start(example_workflow, connected_end_user))
    from workflows.runs import RunRefused

    with pytest.raises(RunRefused, match="only failed runs"):
        retry_from_failed_step(run=run)


def test_a_missing_variable_fails_the_step_naming_it_and_sends_nothing(
    seeded_sandbox, connected_end_user, example_workflow, sandbox_transport
):
    run = create_run(
        workflow=example_workflow,
        end_user=connected_end_user,
        trigger=Run.Trigger.MANUAL,
        trigger_input={"mail": "x@example.com"},
        enqueue=False,
    )
    before = len(sandbox_transport.calls)
    run = run_now(run)

    assert run.status == Run.Status.FAILED
    assert "{{ trigger.email }} is missing: trigger has no 'email'; available: mail" in run.error
    assert len(sandbox_transport.calls) == before
    assert run.step_runs.get(key="find_contact").status == StepRun.Status.FAILED
    assert run.step_runs.filter(status=StepRun.Status.SKIPPED).count() == 4


def test_a_write_that_times_out_fails_the_run_as_outcome_unknown_and_is_never_resent(
    seeded_sandbox, connected_end_user, example_workflow, scripted_sage, no_waits
):
    Step.objects.filter(workflow=example_workflow, key="create_invoice").update(retry=True, max_attempts=5)
    sage = scripted_sage("/sales_invoices", [requests.ReadTimeout("slow")] * 5)

    run = run_now(start(example_workflow, connected_end_user))

    assert run.status == Run.Status.FAILED
    assert "outcome unknown" in run.error
    assert "Check in Sage whether the POST happened" in run.error
    assert len(sage.requests) == 1
    assert no_waits == []


def test_a_write_answered_with_a_5xx_is_an_unknown_outcome_too(
    seeded_sandbox, connected_end_user, example_workflow, sandbox_transport
):
    Step.objects.filter(workflow=example_workflow, key="create_invoice").update(retry=True)
    sandbox_transport.inject("/sales_invoices", status=502, times=3)
    run = run_now(start(example_workflow, connected_end_user))
    assert run.status == Run.Status.FAILED and "outcome unknown" in run.error
    assert sandbox_transport.count("/sales_invoices", method="POST") == 1


def test_opt_in_retries_of_a_read_follow_5xx_with_backoff(
    seeded_sandbox, connected_end_user, example_workflow, sandbox_transport, no_waits, settings
):
    settings.SAGEINT_WORKFLOW_RETRY_BACKOFF_SECONDS = 1.5
    settings.SAGE_RETRY_MAX_ATTEMPTS = (
        1  # the Sage client's own retries off: the step's retries are under test
    )
    Step.objects.filter(workflow=example_workflow, key="bank_account").update(retry=True, max_attempts=3)
    sandbox_transport.inject("/bank_accounts", status=503, times=2)

    run = run_now(start(example_workflow, connected_end_user))

    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.step_runs.get(key="bank_account").attempts == 3
    assert no_waits == [1.5, 3.0]


def test_without_opt_in_a_read_5xx_fails_the_step(
    seeded_sandbox, connected_end_user, example_workflow, sandbox_transport, no_waits, settings
):
    settings.SAGE_RETRY_MAX_ATTEMPTS = 1
    sandbox_transport.inject("/bank_accounts", status=503, times=1)
    run = run_now(start(example_workflow, connected_end_user))
    assert run.status == Run.Status.FAILED
    assert run.error == "Step 'bank_account' failed: Sage answered 503"
    assert no_waits == []


def test_a_throttled_write_is_retried_because_sage_did_nothing(
    seeded_sandbox, connected_end_user, example_workflow, sandbox_transport, no_waits, settings
):
    # The client's own 429 waits are used up (Retry-After beyond its budget), so the 429 reaches the step.
    settings.SAGE_RETRY_MAX_WAIT_SECONDS = 1
    Step.objects.filter(workflow=example_workflow, key="create_invoice").update(retry=True)
    sandbox_transport.inject("/sales_invoices", status=429, headers={"Retry-After": "30"}, times=1)
    run = run_now(start(example_workflow, connected_end_user))
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.step_runs.get(key="create_invoice").attempts == 2
    assert no_waits == [30.0]  # Sage's Retry-After, longer than the backoff


def test_continue_on_error_moves_on_to_the_next_step(
    seeded_sandbox, connected_end_user, example_workflow, sandbox_transport
):
    Step.objects.filter(workflow=example_workflow, key="bank_account").update(on_error="continue")
    Step.objects.filter(workflow=example_workflow, key="record_payment").delete()
    sandbox_transport.inject("/bank_accounts", status=404, times=1)
    run = run_now(start(example_workflow, connected_end_user))
    assert run.status == Run.Status.SUCCEEDED
    assert run.step_runs.get(key="bank_account").status == StepRun.Status.FAILED
    assert run.step_runs.get(key="create_invoice").status == StepRun.Status.SUCCEEDED


def test_a_user_without_a_connection_fails_the_first_step_clearly(example_workflow, db):
    from connections.models import EndUser

    stranger = EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id="nobody")
    run = run_now(queued_run(example_workflow, stranger))
    assert run.status == Run.Status.FAILED
    assert "has not connected Sage Accounting" in run.error


def test_the_bootstrap_creates_the_example_once(db):
    from django.core.management import call_command

    from workflows.models import Workflow

    call_command("bootstrap_demo", "--no-sandbox-seed")
    call_command("bootstrap_demo", "--no-sandbox-seed")
    workflow = Workflow.objects.get(name="Invoice and collect payment")
    assert list(workflow.steps.values_list("key", flat=True)) == [
        "find_contact",
        "sales_ledger",
        "bank_account",
        "create_invoice",
        "record_payment",
    ]
