"""A run whose worker died is resumed from its unfinished step or failed with the reason; never left running."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.workflows.conftest import queued_run, run_now
from workflows import runs
from workflows.models import Run, StepRun
from workflows.recovery import prune_runs, recover_stalled_runs

pytestmark = pytest.mark.django_db


def crashed_at(workflow, end_user, *, step_key: str, settings) -> Run:
    """A run as a killed worker leaves it: claimed, steps before `step_key` done, `step_key` being sent."""
    run = queued_run(workflow, end_user)
    run, state = runs.claim_run(run_id=run.pk)
    assert state == runs.CLAIMED
    # Play the steps before the crash for real, then leave `step_key` marked as sending.
    keys = [step["key"] for step in run.definition]
    cut = keys.index(step_key)
    run.definition, full = run.definition[:cut], run.definition
    from workflows.engine import _execute

    _execute(run)
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.RUNNING,
        finished_at=None,
        definition=full,
        heartbeat_at=timezone.now() - timedelta(seconds=settings.SAGEINT_WORKFLOW_STALL_SECONDS + 5),
    )
    StepRun.objects.filter(run=run, key=step_key).update(status="running", sent_at=timezone.now())
    StepRun.objects.filter(run=run, position__gt=cut).update(status="pending")
    run.refresh_from_db()
    return run


def test_a_run_stalled_on_a_read_is_resumed_from_that_step(
    seeded_sandbox,
    connected_end_user,
    example_workflow,
    sandbox_transport,
    settings,
    django_capture_on_commit_callbacks,
):
    run = crashed_at(example_workflow, connected_end_user, step_key="bank_account", settings=settings)
    contacts_before = sandbox_transport.count("/contacts", method="GET")

    with django_capture_on_commit_callbacks() as queued:
        assert recover_stalled_runs() == {"resumed": 1, "failed": 0, "requeued": 0}
    assert len(queued) == 1  # the run's task is sent again
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED

    run = run_now(run)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.claims == 2
    assert sandbox_transport.count("/contacts", method="GET") == contacts_before  # done steps not re-sent
    assert sandbox_transport.count("/sales_invoices", method="POST") == 1


def test_a_run_stalled_while_sending_a_write_fails_as_outcome_unknown(
    seeded_sandbox, connected_end_user, example_workflow, sandbox_transport, settings
):
    run = crashed_at(example_workflow, connected_end_user, step_key="create_invoice", settings=settings)
    finished = []
    from workflows.signals import workflow_run_finished

    def listener(sender, run, **kwargs):
        finished.append(run.status)

    workflow_run_finished.connect(listener)
    try:
        assert recover_stalled_runs()["failed"] == 1
    finally:
        workflow_run_finished.disconnect(listener)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert "outcome unknown" in run.error and "create_invoice" in run.error
    assert finished == ["failed"]
    assert sandbox_transport.count("/sales_invoices", method="POST") == 0
    assert run.step_runs.get(key="record_payment").status == StepRun.Status.SKIPPED
    # A late delivery of the old task finds nothing to do.
    assert run_now(run).status == Run.Status.FAILED


def test_a_fresh_heartbeat_is_not_taken_for_a_crash(connected_end_user, example_workflow):
    run = queued_run(example_workflow, connected_end_user)
    runs.claim_run(run_id=run.pk)
    assert recover_stalled_runs() == {"resumed": 0, "failed": 0, "requeued": 0}


def test_a_worker_that_lost_its_run_to_recovery_sends_nothing_more(
    seeded_sandbox, connected_end_user, example_workflow, sandbox_transport
):
    run = queued_run(example_workflow, connected_end_user)
    claimed, _ = runs.claim_run(run_id=run.pk)
    before = len(sandbox_transport.calls)
    Run.objects.filter(pk=run.pk).update(claim_token="someone-else")
    from workflows.engine import RunTakenOver, _execute

    with pytest.raises(RunTakenOver):
        _execute(claimed)
    assert len(sandbox_transport.calls) == before


def test_a_queued_run_whose_message_was_lost_is_sent_again(
    connected_end_user, example_workflow, settings, django_capture_on_commit_callbacks
):
    run = queued_run(example_workflow, connected_end_user)
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks() as queued:
        assert recover_stalled_runs()["requeued"] == 1
    assert len(queued) == 1
    with django_capture_on_commit_callbacks() as queued:
        assert recover_stalled_runs()["requeued"] == 0  # once per stall period, not on every sweep


def test_one_run_at_a_time_holds_back_a_second_run_of_the_same_user(connected_end_user, example_workflow):
    example_workflow.one_run_at_a_time = True
    example_workflow.save()
    first = queued_run(example_workflow, connected_end_user)
    second = queued_run(example_workflow, connected_end_user)
    assert runs.claim_run(run_id=first.pk)[1] == runs.CLAIMED
    assert runs.claim_run(run_id=second.pk)[1] == runs.BUSY
    runs.finish_run(Run.objects.get(pk=first.pk), status=Run.Status.SUCCEEDED)
    assert runs.claim_run(run_id=second.pk)[1] == runs.CLAIMED


def test_without_the_option_runs_of_one_user_go_side_by_side(connected_end_user, example_workflow):
    first = queued_run(example_workflow, connected_end_user)
    second = queued_run(example_workflow, connected_end_user)
    assert runs.claim_run(run_id=first.pk)[1] == runs.CLAIMED
    assert runs.claim_run(run_id=second.pk)[1] == runs.CLAIMED
    assert runs.claim_run(run_id=second.pk)[1] == runs.GONE  # a second delivery of the same task


def test_old_finished_runs_are_pruned_after_the_retention_period(
    connected_end_user, example_workflow, settings
):
    settings.SAGEINT_WORKFLOW_RUN_RETENTION_DAYS = 7
    old, recent, unfinished = (queued_run(example_workflow, connected_end_user) for _ in range(3))
    Run.objects.filter(pk=old.pk).update(status="succeeded", finished_at=timezone.now() - timedelta(days=8))
    Run.objects.filter(pk=recent.pk).update(status="failed", finished_at=timezone.now() - timedelta(days=6))
    Run.objects.filter(pk=unfinished.pk).update(created_at=timezone.now() - timedelta(days=30))
    assert prune_runs() >= 1
    assert set(Run.objects.values_list("pk", flat=True)) == {recent.pk, unfinished.pk}
    assert not StepRun.objects.filter(run_id=old.pk).exists()
