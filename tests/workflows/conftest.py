"""Fixtures of the workflow tests: the example workflow on a seeded sandbox, and running a run in-process."""

import pytest

from tests.api.conftest import bearer_for, scripted_sage, seeded_sandbox  # noqa: F401  (shared fixtures)
from workflows import engine
from workflows.examples import EXAMPLE_INPUT, ensure_example_workflow
from workflows.models import Run
from workflows.runs import create_run


@pytest.fixture
def example_workflow(db):
    workflow, _ = ensure_example_workflow()
    return workflow


@pytest.fixture
def no_waits(monkeypatch):
    """Step-retry waits are recorded instead of slept."""
    waits = []
    monkeypatch.setattr(engine, "sleep", waits.append)
    return waits


def run_now(run: Run) -> Run:
    """Execute a queued run here, as the worker's task would, and return it reloaded."""
    engine.execute_run(run_id=run.pk)
    run.refresh_from_db()
    return run


def invoice_input(**changes) -> dict:
    return {**EXAMPLE_INPUT, **changes}


def queued_run(workflow, end_user, *, trigger: str = "manual", **input_changes) -> Run:
    """A run of the example's input, queued but not sent to a worker (the test runs or claims it itself)."""
    return create_run(
        workflow=workflow,
        end_user=end_user,
        trigger=trigger,
        trigger_input=invoice_input(**input_changes),
        enqueue=False,
    )
