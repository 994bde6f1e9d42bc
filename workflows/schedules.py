"""Cron schedules with a time zone, kept in the database by django-celery-beat (beat's DatabaseScheduler).

A workflow's `schedule_cron` and `schedule_timezone` are mirrored into one PeriodicTask named
`workflow-<id>` that sends `workflows.run_scheduled`; beat re-reads the table while it runs.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crontab import CronSlices
from django_celery_beat.models import CrontabSchedule, PeriodicTask

TASK = "workflows.run_scheduled"


def check_schedule(*, cron: str, timezone_name: str) -> list[str]:
    """The five cron fields, or ValueError saying what is wrong."""
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(
            "Give five cron fields: minute hour day-of-month month day-of-week (e.g. '0 9 * * 1')."
        )
    if not CronSlices.is_valid(" ".join(fields)):
        raise ValueError(f"'{cron}' is not a valid cron expression.")
    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time zone {timezone_name!r} (use a name like Europe/London).") from None
    return fields


def task_name(workflow) -> str:
    return f"workflow-{workflow.pk}"


def sync_schedule(*, workflow) -> PeriodicTask | None:
    """Create, update or delete the workflow's periodic task to match its schedule fields."""
    existing = PeriodicTask.objects.filter(name=task_name(workflow)).first()
    if not workflow.schedule_cron:
        if existing is not None:
            existing.delete()
        return None
    minute, hour, day_of_month, month, day_of_week = check_schedule(
        cron=workflow.schedule_cron, timezone_name=workflow.schedule_timezone
    )
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month,
        day_of_week=day_of_week,
        timezone=ZoneInfo(workflow.schedule_timezone),
    )
    task = existing or PeriodicTask(name=task_name(workflow), task=TASK)
    task.crontab = crontab
    task.interval = None
    task.args = json.dumps([workflow.pk])
    task.enabled = workflow.enabled
    task.description = f"Runs the workflow “{workflow.name}” for every connected user."
    task.save()
    return task


def remove_schedule(*, workflow) -> None:
    PeriodicTask.objects.filter(name=task_name(workflow)).delete()
