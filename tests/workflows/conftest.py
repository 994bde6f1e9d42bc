"""Fixtures of the workflow tests: the example workflow on a seeded sandbox, and running a run in-process."""

import pytest

from tests.api.conftest import bearer_for, scripted_sage, seeded_sandbox  # noqa: F401  (shared fixtures)
from workflows import engine
from workflows.examples import EXAMPLE_INPUT, ensure_example_workflow
from workflows.models import Run


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
