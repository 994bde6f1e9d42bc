"""Workflows: ordered Sage Accounting Request steps, their triggers, and the runs that nobody loses.

A run keeps a snapshot of its steps (`definition`), so editing a workflow never changes a run already queued or
half done, and every step's outcome is written before the next step starts.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from connections.models import EndUser

WRITE_METHODS = ("POST", "PUT", "DELETE")


class Workflow(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True, help_text="Disabled workflows start no runs (Run now aside).")
    event_name = models.CharField(
        "app event",
        max_length=100,
        blank=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_.:-]+$", "Letters, digits, '_', '.', ':' and '-' only.")],
        help_text="Runs for the user named in POST /api/v1/events with this event name. Blank: none.",
    )
    run_on_connect = models.BooleanField(
        "when a user connects Sage Accounting",
        default=False,
        help_text="Runs for a user each time they connect (or reconnect) Sage Accounting.",
    )
    schedule_cron = models.CharField(
        "schedule (cron)",
        max_length=100,
        blank=True,
        help_text="Five cron fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * 1' (Mondays "
        "09:00). Runs for every connected user. Blank: no schedule.",
    )
    schedule_timezone = models.CharField(
        "schedule time zone", max_length=64, default="UTC", help_text="e.g. Europe/London"
    )
    one_run_at_a_time = models.BooleanField(
        "one run at a time per user",
        default=False,
        help_text="A run waits while another run of this workflow for the same user is running.",
    )
    sample_input = models.JSONField(
        default=dict,
        blank=True,
        help_text="Example trigger input: its fields appear in the {{ menu and prefill a test run.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.schedule_cron:
            from workflows.schedules import check_schedule

            try:
                check_schedule(cron=self.schedule_cron, timezone_name=self.schedule_timezone)
            except ValueError as error:
                raise ValidationError({"schedule_cron": str(error)}) from None

    def definition(self) -> list[dict]:
        """The steps as a run executes them (a snapshot kept on the run)."""
        return [step.as_definition() for step in self.steps.order_by("position", "id")]


class Step(models.Model):
    class Kind(models.TextChoices):
        SAGE_REQUEST = "sage_request", "Sage Accounting Request"

    class Method(models.TextChoices):
        GET = "GET"
        POST = "POST"
        PUT = "PUT"
        DELETE = "DELETE"

    class OnError(models.TextChoices):
        STOP = "stop", "Stop the run"
        CONTINUE = "continue", "Continue with the next step"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    key = models.CharField(
        max_length=50,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]*$", "Lower-case letters, digits and '_', starting with a letter."
            )
        ],
        help_text="Used in variables: {{ steps.<key>.response… }}",
    )
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.SAGE_REQUEST)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.GET)
    path = models.CharField(
        max_length=1000, help_text="Sage path, e.g. /contacts?email={{ trigger.email }} or /sales_invoices"
    )
    query = models.JSONField(
        default=dict, blank=True, help_text='Query parameters, e.g. {"email": "{{ trigger.email }}"}'
    )
    body = models.JSONField(
        null=True, blank=True, help_text="JSON body (POST/PUT); may hold {{ }} variables."
    )
    on_error = models.CharField(max_length=10, choices=OnError.choices, default=OnError.STOP)
    retry = models.BooleanField(
        "retry automatically",
        default=False,
        help_text="Retry with backoff when Sage proves it did nothing (429, 401) and, for GET, on 5xx and "
        "timeouts.",
    )
    max_attempts = models.PositiveSmallIntegerField(default=3)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "key"], name="unique_step_key_per_workflow")
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.method} {self.path}"

    def as_definition(self) -> dict:
        return {
            "key": self.key,
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "query": self.query or {},
            "body": self.body,
            "on_error": self.on_error,
            "retry": self.retry,
            "max_attempts": max(1, self.max_attempts),
        }


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Run now (admin)"
        TEST = "test", "Test run (admin)"
        API = "api", "API call"
        EVENT = "event", "App event"
        CONNECT = "connect", "User connected Sage"
        SCHEDULE = "schedule", "Schedule"
        RETRY = "retry", "Retry from failed step"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    # PROTECT: a workflow with runs cannot be deleted, so its history is never lost with it (disable it instead;
    # the retention prune removes old finished runs, after which it can go).
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="runs")
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="workflow_runs")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    event_name = models.CharField(max_length=100, blank=True)
    trigger_input = models.JSONField(default=dict, blank=True)
    definition = models.JSONField(default=list, help_text="The steps as they were when the run was queued.")
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    # Set by the worker that claimed the run; a stalled run is taken over only through recovery.
    claim_token = models.CharField(max_length=40, blank=True, editable=False)
    claims = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker started the run.")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="wfrun_newest_first"),
            models.Index(fields=["status", "heartbeat_at"], name="wfrun_status_heartbeat"),
            models.Index(fields=["workflow", "end_user", "status"], name="wfrun_workflow_user_status"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.workflow} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration_ms(self) -> int | None:
        if self.started_at and self.finished_at:
            return round((self.finished_at - self.started_at).total_seconds() * 1000)
        return None


class StepRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="step_runs")
    position = models.PositiveIntegerField()
    key = models.CharField(max_length=50)
    method = models.CharField(max_length=10)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    request = models.JSONField(null=True, blank=True, help_text="The rendered method, path, query and body.")
    # Set (and committed) just before a request goes to Sage: a step found "running" with this set after a
    # crash may have reached Sage.
    sent_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_truncated = models.BooleanField(default=False)
    reused = models.BooleanField(
        default=False, help_text="Copied from the run this one retries (not re-sent)."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Time waiting on Sage.")
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="unique_step_run_per_run")]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_status_display()})"

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS
