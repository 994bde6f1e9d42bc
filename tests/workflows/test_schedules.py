"""Cron schedules with a time zone, kept in the database and fired by beat's DatabaseScheduler."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from sageint.celery import app
from workflows import tasks
from workflows.models import Run, Workflow
from workflows.schedules import sync_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_transaction(monkeypatch):
    # Beat closes "old" database connections between ticks; inside a test's transaction that would close it.
    import django_celery_beat.schedulers

    monkeypatch.setattr(django_celery_beat.schedulers, "close_old_connections", lambda: None)


def scheduled_workflow(cron="0 9 * * 1", tz="Asia/Kathmandu", **fields) -> Workflow:
    workflow = Workflow.objects.create(
        name="Weekly check", schedule_cron=cron, schedule_timezone=tz, **fields
    )
    workflow.steps.create(key="who", path="/user")
    sync_schedule(workflow=workflow)
    return workflow


def test_a_schedule_is_kept_in_the_database_with_its_time_zone():
    workflow = scheduled_workflow()
    task = PeriodicTask.objects.get(name=f"workflow-{workflow.pk}")
    assert task.task == "workflows.run_scheduled"
    assert task.args == f"[{workflow.pk}]"
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "9", "1")
    assert task.crontab.timezone == ZoneInfo("Asia/Kathmandu")
    assert task.enabled

    workflow.enabled = False
    sync_schedule(workflow=workflow)
    assert not PeriodicTask.objects.get(name=f"workflow-{workflow.pk}").enabled
    workflow.schedule_cron = ""
    sync_schedule(workflow=workflow)
    assert not PeriodicTask.objects.filter(name=f"workflow-{workflow.pk}").exists()


@pytest.mark.parametrize(
    ("cron", "tz", "message"),
    [
        ("0 9 * *", "UTC", "five cron fields"),
        ("61 9 * * 1", "UTC", "not a valid cron"),
        ("0 9 * * 1", "Mars/Olympus", "Unknown time zone"),
    ],
)
def test_bad_schedules_are_refused_on_the_field(cron, tz, message):
    workflow = Workflow(name="x", schedule_cron=cron, schedule_timezone=tz)
    with pytest.raises(ValidationError) as caught:
        workflow.full_clean()
    assert message in " ".join(caught.value.message_dict["schedule_cron"])


def test_beat_fires_a_due_schedule_and_each_connected_user_gets_a_run(connected_end_user, monkeypatch):
    from connections.models import EndUser

    EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id="never-connected")
    workflow = scheduled_workflow(cron="* * * * *", tz="Europe/London")
    PeriodicTask.objects.filter(name=f"workflow-{workflow.pk}").update(
        last_run_at=timezone.now() - timedelta(minutes=5)
    )
    fired = []

    def run_inline(args=None, kwargs=None, **options):
        fired.append(args)
        return tasks.run_scheduled_task(*args)

    monkeypatch.setattr(tasks.run_scheduled_task, "apply_async", run_inline)
    scheduler = DatabaseScheduler(app=app)
    entry = scheduler.schedule[f"workflow-{workflow.pk}"]
    assert entry.is_due().is_due
    scheduler.apply_entry(entry, producer=None)

    assert fired == [[workflow.pk]]
    run = Run.objects.get()
    assert (run.workflow, run.end_user, run.trigger) == (workflow, connected_end_user, Run.Trigger.SCHEDULE)


def test_beat_loads_the_settings_periodic_tasks_into_the_database():
    DatabaseScheduler(app=app)
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {"workflows.recover_stalled_runs", "workflows.prune_runs"} <= names
