"""A workflow run that finishes sends workflow_run.succeeded or workflow_run.failed, written with the run's final
status (workflows.signals.workflow_run_finished) and delivered signed."""

import json

import pytest
from standardwebhooks.webhooks import Webhook

from tests.api.conftest import seeded_sandbox  # noqa: F401  (shared fixture)
from tests.workflows.conftest import example_workflow, invoice_input, run_now  # noqa: F401
from webhooks import delivery
from webhooks.models import Delivery, Event
from workflows.models import Run
from workflows.runs import cancel_run, create_run

pytestmark = pytest.mark.django_db


def start(workflow, end_user) -> Run:
    return create_run(
        workflow=workflow,
        end_user=end_user,
        trigger=Run.Trigger.API,
        trigger_input=invoice_input(),
        enqueue=False,
    )


def sent(event_type: str) -> list[dict]:
    return [json.loads(e.body) for e in Event.objects.filter(type=event_type)]


def test_a_run_that_succeeds_is_reported_signed(
    seeded_sandbox,  # noqa: F811
    connected_end_user,
    example_workflow,  # noqa: F811
    sandbox_transport,
    receiver,
    make_endpoint,
):
    _, secret = make_endpoint(receiver.url, events=["workflow_run.succeeded", "workflow_run.failed"])

    run = run_now(start(example_workflow, connected_end_user))
    delivery.deliver(delivery_id=Delivery.objects.get().pk)

    (received,) = receiver.received
    payload = Webhook(secret).verify(received.body, received.headers)
    assert payload["type"] == "workflow_run.succeeded"
    assert payload["data"]["end_user_id"] == connected_end_user.external_id
    reported = payload["data"]["workflow_run"]
    assert reported["id"] == run.pk and reported["status"] == "succeeded"
    assert reported["workflow"] == {"id": example_workflow.pk, "name": example_workflow.name}
    assert reported["trigger"] == "api" and reported["error"] is None and reported["failed_step"] is None
    assert reported["duration_ms"] is not None


def test_a_run_that_fails_names_the_step_and_the_error(
    seeded_sandbox,  # noqa: F811
    connected_end_user,
    example_workflow,  # noqa: F811
    sandbox_transport,
    make_endpoint,
):
    make_endpoint("http://127.0.0.1:9/hooks", events=["workflow_run.failed"])
    errors = [{"$severity": "error", "$dataCode": "RecordInvalid", "$message": "Bank account is closed"}]
    sandbox_transport.inject("/contact_payments", status=422, body=json.dumps(errors).encode(), times=1)

    run = run_now(start(example_workflow, connected_end_user))

    assert run.status == Run.Status.FAILED
    (payload,) = sent("workflow_run.failed")
    assert payload["data"]["workflow_run"]["failed_step"] == "record_payment"
    assert "Bank account is closed" in payload["data"]["workflow_run"]["error"]
    assert sent("workflow_run.succeeded") == []


def test_a_cancelled_run_sends_nothing(connected_end_user, example_workflow, make_endpoint):  # noqa: F811
    make_endpoint("http://127.0.0.1:9/hooks")

    assert cancel_run(run=start(example_workflow, connected_end_user))

    assert not Event.objects.filter(type__startswith="workflow_run.").exists()
