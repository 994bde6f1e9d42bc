"""A workflow's cron schedule fired by a real `celery beat` process (database scheduler) and run by the service
run's worker: a schedule kept in the database reaches every connected user without a restart."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from tests.services import require_service, uses_postgresql, uses_redis_broker
from workflows.models import Run, Workflow
from workflows.schedules import sync_schedule

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def test_beat_fires_a_due_workflow_schedule_and_the_worker_starts_its_runs(
    celery_worker, connected_end_user, settings, tmp_path
):
    require_service(uses_postgresql() and uses_redis_broker(), "PostgreSQL and a Redis broker")
    workflow = Workflow.objects.create(
        name="Every minute", schedule_cron="* * * * *", schedule_timezone="Asia/Kathmandu"
    )
    workflow.steps.create(key="who", path="/user")
    sync_schedule(workflow=workflow)
    # As if beat had last fired it five minutes ago: due at its first tick.
    PeriodicTask.objects.filter(name=f"workflow-{workflow.pk}").update(
        last_run_at=timezone.now() - timedelta(minutes=5)
    )
    database = settings.DATABASES["default"]
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
        f"{database['PORT'] or 5432}/{connection.settings_dict['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CONN_MAX_AGE": "0",
    }
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sageint",
            "beat",
            "--loglevel=WARNING",
            f"--pidfile={tmp_path / 'beat.pid'}",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not Run.objects.filter(workflow=workflow).exists() and time.monotonic() < deadline:
            time.sleep(0.25)
    finally:
        beat.terminate()
        beat.wait(timeout=30)
    run = Run.objects.filter(workflow=workflow).first()
    assert run is not None, "beat did not fire the workflow's schedule within 60 s"
    assert (run.end_user, run.trigger) == (connected_end_user, Run.Trigger.SCHEDULE)
