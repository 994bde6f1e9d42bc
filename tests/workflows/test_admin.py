"""The admin: builder validation on the field, Run now / Test run, the run history, its page and its retry."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.workflows.conftest import invoice_input, queued_run, run_now
from workflows.models import Run, Workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser(
        "wf-admin", "wf-admin@example.com", "pw-123456789"
    )
    client.force_login(admin_user)
    return client


def step_form_data(workflow, steps):
    data = {
        "name": workflow.name,
        "description": "",
        "enabled": "on",
        "event_name": "",
        "schedule_cron": "",
        "schedule_timezone": "UTC",
        "sample_input": "{}",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for index, step in enumerate(steps):
        for field, value in {
            "position": index,
            "method": "GET",
            "query": "{}",
            "body": "null",
            "on_error": "stop",
            "max_attempts": 3,
            **step,
        }.items():
            data[f"steps-{index}-{field}"] = value
    return data


def test_a_template_referring_to_a_later_step_is_refused_with_the_error_on_its_field(admin_browser):
    workflow = Workflow.objects.create(name="Draft")
    data = step_form_data(
        workflow,
        [
            {
                "key": "first",
                "method": "POST",
                "path": "/contacts",
                "body": json.dumps({"id": "{{ steps.second.response.id }}"}),
            },
            {"key": "second", "path": "/contacts/{{ trigger.id"},
        ],
    )
    response = admin_browser.post(reverse("admin:workflows_workflow_change", args=[workflow.pk]), data)

    assert response.status_code == 200  # the form again, with errors
    formset = response.context["inline_admin_formsets"][0].formset
    assert "runs at or after this one" in formset.forms[0].errors["body"][0]
    assert "no matching" in formset.forms[1].errors["path"][0]
    assert not workflow.steps.exists()


def test_a_valid_builder_save_keeps_the_page_order_and_creates_the_schedule(admin_browser):
    from django_celery_beat.models import PeriodicTask

    workflow = Workflow.objects.create(name="Draft")
    data = step_form_data(
        workflow,
        [
            {
                "key": "second",
                "position": 7,
                "method": "POST",
                "path": "/x",
                "body": json.dumps({"c": "{{ steps.first.response.$items.0.id }}"}),
            },
            {
                "key": "first",
                "position": 3,
                "path": "/contacts",
                "query": json.dumps({"email": "{{ trigger.email }}"}),
            },
        ],
    )
    data.update(schedule_cron="30 8 * * 1-5", schedule_timezone="Europe/London")
    response = admin_browser.post(reverse("admin:workflows_workflow_change", args=[workflow.pk]), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert list(workflow.steps.values_list("key", "position")) == [("first", 0), ("second", 1)]
    assert PeriodicTask.objects.get(name=f"workflow-{workflow.pk}").crontab.hour == "8"


def test_the_builder_page_serves_the_variable_menu_data_and_its_script(
    admin_browser, seeded_sandbox, connected_end_user, example_workflow
):
    run_now(queued_run(example_workflow, connected_end_user, trigger="test"))
    page = admin_browser.get(reverse("admin:workflows_workflow_change", args=[example_workflow.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "workflows/builder.js" in html and "cdn" not in html.lower()
    variables = page.context["workflow_variables"]
    assert "trigger.email" in variables["trigger"]
    assert "user.external_id" in variables["user"]
    # Fields of a step's answer come from the latest run.
    assert "steps.find_contact.response.$items.0.id" in variables["steps"]["find_contact"]
    assert "steps.create_invoice.response.total_amount" in variables["steps"]["create_invoice"]


def test_run_now_queues_a_run_for_the_chosen_user_and_shows_its_page(
    admin_browser, connected_end_user, example_workflow, django_capture_on_commit_callbacks
):
    url = reverse("admin:workflows_workflow_run", args=[example_workflow.pk])
    assert "accounts@acme-widgets.example.com" in admin_browser.get(url).content.decode()  # the sample input
    with django_capture_on_commit_callbacks() as queued:
        response = admin_browser.post(
            url,
            {"end_user": connected_end_user.pk, "trigger_input": json.dumps(invoice_input()), "_test": "1"},
        )
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/workflows/run/{run.pk}/change/")
    assert run.trigger == Run.Trigger.TEST and len(queued) == 1


def test_run_now_refuses_bad_json_input(admin_browser, connected_end_user, example_workflow):
    url = reverse("admin:workflows_workflow_run", args=[example_workflow.pk])
    response = admin_browser.post(url, {"end_user": connected_end_user.pk, "trigger_input": "{oops"})
    assert response.status_code == 200
    assert "This is not valid JSON" in response.content.decode()
    assert not Run.objects.exists()


def test_the_run_page_shows_each_step_and_retry_completes_a_failed_run(
    admin_browser,
    seeded_sandbox,
    connected_end_user,
    example_workflow,
    sandbox_transport,
    django_capture_on_commit_callbacks,
):
    sandbox_transport.inject(
        "/contact_payments", status=422, body=b'[{"$message": "Closed account"}]', times=1
    )
    failed = run_now(queued_run(example_workflow, connected_end_user, trigger="manual"))
    page = admin_browser.get(reverse("admin:workflows_run_change", args=[failed.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="wf-step"') == 5
    assert "Sage answered 422: Closed account" in html
    assert "Retry from failed step" in html

    with django_capture_on_commit_callbacks() as queued:
        response = admin_browser.post(reverse("admin:workflows_run_retry", args=[failed.pk]))
    retry = Run.objects.get(retry_of=failed)
    assert response["Location"].endswith(f"/workflows/run/{retry.pk}/change/")
    assert len(queued) == 1
    assert run_now(retry).status == Run.Status.SUCCEEDED
    assert sandbox_transport.count("/sales_invoices", method="POST") == 1


def test_the_run_history_filters(admin_browser, connected_end_user, example_workflow):
    queued_run(example_workflow, connected_end_user, trigger="api")
    url = reverse("admin:workflows_run_changelist")
    for query in [
        "",
        "?status__exact=queued",
        "?trigger__exact=api",
        f"?workflow__id__exact={example_workflow.pk}",
        f"?end_user__id__exact={connected_end_user.pk}",
        f"?created_at__year={timezone.now().year}",
    ]:
        response = admin_browser.get(url + query)
        assert response.status_code == 200, query
        assert response.context["cl"].result_count == 1, query
    assert admin_browser.get(url + "?status__exact=failed").context["cl"].result_count == 0


def test_queued_runs_can_be_cancelled_but_started_ones_are_left_to_finish(
    admin_browser, connected_end_user, example_workflow
):
    from workflows import runs

    queued = queued_run(example_workflow, connected_end_user, trigger="api")
    started = queued_run(example_workflow, connected_end_user, trigger="api")
    runs.claim_run(run_id=started.pk)
    admin_browser.post(
        reverse("admin:workflows_run_changelist"),
        {"action": "cancel_queued_runs", "_selected_action": [queued.pk, started.pk]},
    )
    queued.refresh_from_db()
    started.refresh_from_db()
    assert queued.status == Run.Status.CANCELLED
    assert set(queued.step_runs.values_list("status", flat=True)) == {"skipped"}
    assert started.status == Run.Status.RUNNING


def test_a_workflow_with_runs_cannot_be_deleted_so_its_history_stays(
    admin_browser, connected_end_user, example_workflow
):
    run = queued_run(example_workflow, connected_end_user)
    url = reverse("admin:workflows_workflow_delete", args=[example_workflow.pk])

    page = admin_browser.get(url)
    assert page.status_code == 200
    assert "protected related objects" in page.content.decode()

    admin_browser.post(url, {"post": "yes"})
    assert Workflow.objects.filter(pk=example_workflow.pk).exists()
    assert Run.objects.filter(pk=run.pk).exists()


def test_a_workflow_without_runs_can_still_be_deleted(admin_browser, example_workflow):
    url = reverse("admin:workflows_workflow_delete", args=[example_workflow.pk])
    admin_browser.post(url, {"post": "yes"})
    assert not Workflow.objects.filter(pk=example_workflow.pk).exists()
