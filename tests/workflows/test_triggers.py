"""What starts runs: the API (with its status), app events, the on-connect event and schedules."""

import json

import pytest
from django.urls import reverse

from tests.fixtures_sage import connect_end_user_via_link
from tests.openapi_schemas import assert_matches_schema
from tests.workflows.conftest import invoice_input, run_now
from workflows.models import Run, Step, Workflow

pytestmark = pytest.mark.django_db


def post_json(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def eager_runs(django_capture_on_commit_callbacks, monkeypatch):
    """Runs queued by a request are executed in-process once its transaction commits (as a worker would)."""
    from workflows import tasks

    monkeypatch.setattr(
        tasks.execute_run_task, "apply_async", lambda args, **options: tasks.execute_run_task(*args)
    )


def test_api_starts_a_run_and_answers_its_status_with_step_results(
    client,
    seeded_sandbox,
    connected_end_user,
    example_workflow,
    bearer_for,
    django_capture_on_commit_callbacks,
    eager_runs,
):
    url = reverse("workflows_api:start_run", args=[example_workflow.pk])
    with django_capture_on_commit_callbacks(execute=True):
        started = post_json(client, url, {"input": invoice_input()}, **bearer_for(connected_end_user))

    assert started.status_code == 202, started.content
    run_id = started.json()["id"]
    assert started.json()["url"].endswith(f"/api/v1/workflows/runs/{run_id}")
    status = client.get(reverse("workflows_api:run", args=[run_id]), **bearer_for(connected_end_user))
    assert status.status_code == 200
    answer = status.json()
    assert answer["status"] == "succeeded"
    assert answer["trigger"] == "api"
    assert [step["key"] for step in answer["steps"]] == [
        "find_contact",
        "sales_ledger",
        "bank_account",
        "create_invoice",
        "record_payment",
    ]
    assert answer["steps"][3]["response_status"] == 201
    assert answer["steps"][3]["response"]["id"]
    assert_matches_schema(started.json(), "WorkflowRun")
    assert_matches_schema(answer, "WorkflowRun")


def test_api_refuses_missing_or_bad_tokens_with_the_api_error_shape(client, example_workflow):
    url = reverse("workflows_api:start_run", args=[example_workflow.pk])
    response = post_json(client, url, {})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    response = post_json(client, url, {}, HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_token"
    assert not Run.objects.exists()


def test_api_answers_clear_errors_for_bad_requests(client, connected_end_user, example_workflow, bearer_for):
    auth = bearer_for(connected_end_user)
    url = reverse("workflows_api:start_run", args=[example_workflow.pk])
    assert post_json(client, reverse("workflows_api:start_run", args=[999]), {}, **auth).json()["error"][
        "code"
    ] == ("unknown_workflow")
    bad = client.post(url, data="{nope", content_type="application/json", **auth)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    deep = []
    for _ in range(100):
        deep = [deep]
    too_deep = post_json(client, url, {"input": deep}, **auth)
    assert too_deep.status_code == 400 and too_deep.json()["error"]["code"] == "invalid_input"
    assert client.get(url, **auth).status_code == 405
    Workflow.objects.filter(pk=example_workflow.pk).update(enabled=False)
    disabled = post_json(client, url, {}, **auth)
    assert disabled.status_code == 409 and disabled.json()["error"]["code"] == "workflow_disabled"
    assert not Run.objects.exists()


def test_a_user_cannot_read_another_users_run(client, connected_end_user, example_workflow, bearer_for):
    from connections.models import EndUser
    from workflows.runs import create_run

    other = EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id="someone-else")
    run = create_run(workflow=example_workflow, end_user=other, trigger="api", enqueue=False)
    response = client.get(reverse("workflows_api:run", args=[run.pk]), **bearer_for(connected_end_user))
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_run"


def test_an_app_event_starts_every_enabled_workflow_listening_to_it(
    client, connected_end_user, example_workflow, bearer_for, django_capture_on_commit_callbacks
):
    second = Workflow.objects.create(name="Second listener", event_name="invoice.requested")
    Step.objects.create(workflow=second, key="who", path="/user")
    Workflow.objects.create(
        name="Disabled listener", event_name="invoice.requested", enabled=False
    ).steps.create(key="x", path="/user")
    Workflow.objects.create(name="Other event", event_name="other").steps.create(key="x", path="/user")

    with django_capture_on_commit_callbacks() as queued:
        response = post_json(
            client,
            reverse("workflows_api:events"),
            {"event": "invoice.requested", "payload": invoice_input()},
            **bearer_for(connected_end_user),
        )

    assert response.status_code == 202, response.content
    assert_matches_schema(response.json(), "AppEventRuns")
    names = sorted(run["workflow"]["name"] for run in response.json()["runs"])
    assert names == ["Invoice and collect payment", "Second listener"]
    assert len(queued) == 2
    runs = Run.objects.all()
    assert {run.trigger for run in runs} == {"event"}
    assert {run.end_user_id for run in runs} == {connected_end_user.pk}
    assert all(run.trigger_input == invoice_input() for run in runs)


def test_an_event_nobody_listens_to_starts_nothing(client, connected_end_user, bearer_for):
    response = post_json(
        client, reverse("workflows_api:events"), {"event": "nothing"}, **bearer_for(connected_end_user)
    )
    assert response.status_code == 202 and response.json()["runs"] == []
    missing = post_json(
        client, reverse("workflows_api:events"), {"payload": {}}, **bearer_for(connected_end_user)
    )
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid_input"


def test_connecting_sage_starts_the_on_connect_workflows(
    db, sandbox_transport, seeded_sandbox, django_capture_on_commit_callbacks
):
    workflow = Workflow.objects.create(name="Welcome", run_on_connect=True)
    workflow.steps.create(key="business", path="/businesses/lead")
    Workflow.objects.create(name="Not on connect").steps.create(key="x", path="/user")

    with django_capture_on_commit_callbacks() as queued:
        end_user = connect_end_user_via_link("connect-trigger-user")

    run = Run.objects.get()
    assert (run.workflow, run.end_user, run.trigger) == (workflow, end_user, Run.Trigger.CONNECT)
    assert run.trigger_input["business_id"] == end_user.connection.business_id
    assert len(queued) == 1
    assert run_now(run).status == Run.Status.SUCCEEDED


def test_a_broken_on_connect_workflow_never_breaks_connecting(db, sandbox_transport, monkeypatch):
    from workflows import triggers

    Workflow.objects.create(name="Welcome", run_on_connect=True).steps.create(key="x", path="/user")

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(triggers, "create_run", explode)
    end_user = connect_end_user_via_link("still-connects")
    assert end_user.connection.is_active
    assert not Run.objects.exists()
