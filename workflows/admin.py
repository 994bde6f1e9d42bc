"""Workflows in the admin: the builder (steps inline, a {{ variable menu), Run now / Test run, and the run
history with its filters, run pages and "Retry from failed step"."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from connections.models import Connection, EndUser
from workflows import runs as run_service
from workflows.models import Run, Step, Workflow
from workflows.schedules import sync_schedule
from workflows.selectors import menu_variables
from workflows.validation import StepDraft, step_errors
from workflows.variables import VariableError, check_data

TEMPLATE_WIDGET_ATTRS = {"class": "wf-template", "autocomplete": "off", "spellcheck": "false"}


class StepForm(forms.ModelForm):
    class Meta:
        model = Step
        fields = ["position", "key", "method", "path", "query", "body", "on_error", "retry", "max_attempts"]
        widgets = {
            "position": forms.HiddenInput(attrs={"class": "wf-position"}),
            "path": forms.TextInput(attrs={**TEMPLATE_WIDGET_ATTRS, "size": 80}),
            "query": forms.Textarea(attrs={**TEMPLATE_WIDGET_ATTRS, "rows": 2, "cols": 80}),
            "body": forms.Textarea(attrs={**TEMPLATE_WIDGET_ATTRS, "rows": 10, "cols": 80}),
        }


class StepFormSet(BaseInlineFormSet):
    """Checks every step's templates against the others (unknown or later steps, malformed placeholders) and
    shows each error on its field."""

    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        kept.sort(key=lambda form: form.cleaned_data.get("position") or 0)
        drafts = [
            StepDraft(
                key=form.cleaned_data.get("key", ""),
                method=form.cleaned_data.get("method", ""),
                path=form.cleaned_data.get("path", ""),
                query=form.cleaned_data.get("query"),
                body=form.cleaned_data.get("body"),
            )
            for form in kept
        ]
        for index, errors in step_errors(drafts).items():
            for field, message in errors.items():
                kept[index].add_error(field, message)


class StepInline(admin.StackedInline):
    model = Step
    form = StepForm
    formset = StepFormSet
    extra = 0
    ordering = ["position", "id"]
    fieldsets = [
        (None, {"fields": ["position", ("key", "method"), "path", "query", "body"]}),
        ("On error", {"fields": [("on_error", "retry", "max_attempts")]}),
    ]


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "triggers", "step_count", "updated_at"]
    list_filter = ["enabled", "run_on_connect"]
    search_fields = ["name", "event_name"]
    inlines = [StepInline]
    change_form_template = "admin/workflows/workflow/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "description", "enabled"]}),
        (
            "Triggers",
            {
                "description": "Besides these, a workflow can always be started with Run now (here) and with "
                "POST /api/v1/workflows/<id>/runs.",
                "fields": ["event_name", "run_on_connect", ("schedule_cron", "schedule_timezone")],
            },
        ),
        ("Runs", {"fields": ["one_run_at_a_time", "sample_input"]}),
    ]

    @admin.display(description="triggers")
    def triggers(self, workflow: Workflow) -> str:
        parts = []
        if workflow.event_name:
            parts.append(f"event {workflow.event_name}")
        if workflow.run_on_connect:
            parts.append("on connect")
        if workflow.schedule_cron:
            parts.append(f"cron {workflow.schedule_cron} ({workflow.schedule_timezone})")
        return ", ".join(parts) or "Run now / API"

    @admin.display(description="steps")
    def step_count(self, workflow: Workflow) -> int:
        return workflow.steps.count()

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        workflow = form.instance
        # Positions as the page ordered the steps, renumbered 0, 1, 2… so the order never depends on gaps.
        for position, step in enumerate(workflow.steps.order_by("position", "id")):
            if step.position != position:
                Step.objects.filter(pk=step.pk).update(position=position)
        sync_schedule(workflow=workflow)

    def delete_model(self, request, obj) -> None:
        from workflows.schedules import remove_schedule

        remove_schedule(workflow=obj)
        super().delete_model(request, obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["workflow_variables"] = menu_variables(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/run/",
                self.admin_site.admin_view(self.run_view),
                name="workflows_workflow_run",
            ),
            *super().get_urls(),
        ]

    def run_view(self, request, object_id):
        """Run now / Test run: a chosen end user and a JSON input; the run page shows each step."""
        workflow = get_object_or_404(Workflow, pk=object_id)
        if not self.has_change_permission(request, workflow):
            raise PermissionDenied
        form = RunNowForm(request.POST or None, initial={"trigger_input": _pretty(workflow.sample_input)})
        if request.method == "POST" and form.is_valid():
            trigger = Run.Trigger.TEST if "_test" in request.POST else Run.Trigger.MANUAL
            try:
                run = run_service.create_run(
                    workflow=workflow,
                    end_user=form.cleaned_data["end_user"],
                    trigger=trigger,
                    trigger_input=form.cleaned_data["trigger_input"],
                )
            except run_service.RunRefused as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(request, f"Run {run.pk} queued ({run.get_trigger_display()}).")
                return redirect("admin:workflows_run_change", run.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Run “{workflow.name}”",
            "workflow": workflow,
            "form": form,
            "opts": Workflow._meta,
            "original": workflow,
        }
        return TemplateResponse(request, "admin/workflows/workflow/run.html", context)


class RunNowForm(forms.Form):
    end_user = forms.ModelChoiceField(
        queryset=EndUser.objects.filter(connection__status=Connection.Status.ACTIVE).order_by(
            "display_name", "pk"
        ),
        help_text="Only users with an active Sage connection are listed.",
    )
    trigger_input = forms.CharField(
        label="Input (JSON)",
        widget=forms.Textarea(attrs={"rows": 10, "cols": 80}),
        required=False,
        help_text="Available to the steps as {{ trigger.… }}.",
    )

    def clean_trigger_input(self):
        text = self.cleaned_data["trigger_input"].strip() or "{}"
        try:
            value = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"This is not valid JSON: {error}") from None
        try:
            check_data(value, what="input")
        except VariableError as error:
            raise forms.ValidationError(error.message) from None
        return value


def _pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["id", "workflow", "end_user", "trigger", "status_label", "created_at", "duration"]
    list_filter = [
        "status",
        "trigger",
        "workflow",
        ("end_user", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["workflow", "end_user"]
    search_fields = ["=id", "end_user__external_id", "end_user__display_name", "error"]
    actions = ["retry_failed_runs", "cancel_queued_runs"]
    change_form_template = "admin/workflows/run/change_form.html"
    fields = [
        "workflow",
        "end_user",
        "trigger",
        "event_name",
        "status",
        "error",
        "retry_of",
        "created_at",
        "started_at",
        "finished_at",
        "claims",
        "input_json",
    ]
    readonly_fields = fields

    @admin.display(description="status", ordering="status")
    def status_label(self, run: Run) -> str:
        colour = {"succeeded": "#2e7d32", "failed": "#c62828", "running": "#1565c0"}.get(run.status, "#666")
        return format_html('<strong style="color:{}">{}</strong>', colour, run.get_status_display())

    @admin.display(description="duration")
    def duration(self, run: Run) -> str:
        return f"{run.duration_ms} ms" if run.duration_ms is not None else "-"

    @admin.display(description="input")
    def input_json(self, run: Run) -> str:
        return format_html("<pre>{}</pre>", _pretty(run.trigger_input))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # runs are history: read-only

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("workflows.add_run") or request.user.is_superuser

    @admin.action(description="Retry from failed step", permissions=["retry"])
    def retry_failed_runs(self, request, queryset) -> None:
        started, refused = [], []
        for run in queryset.select_related("workflow", "end_user"):
            try:
                started.append(run_service.retry_from_failed_step(run=run).pk)
            except run_service.RunRefused as error:
                refused.append(error.message)
        if started:
            messages.success(request, f"Retry runs queued: {', '.join(map(str, started))}.")
        for message in refused:
            messages.warning(request, message)

    @admin.action(description="Cancel queued runs", permissions=["retry"])
    def cancel_queued_runs(self, request, queryset) -> None:
        cancelled = [run.pk for run in queryset if run_service.cancel_run(run=run)]
        messages.info(
            request,
            f"Cancelled: {', '.join(map(str, cancelled)) or 'none'} (runs already started are left to finish).",
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="workflows_run_retry",
            ),
            *super().get_urls(),
        ]

    def retry_view(self, request, object_id):
        run = get_object_or_404(Run, pk=object_id)
        if request.method != "POST" or not self.has_retry_permission(request):
            raise PermissionDenied
        try:
            retry = run_service.retry_from_failed_step(run=run)
        except run_service.RunRefused as error:
            messages.error(request, error.message)
            return redirect("admin:workflows_run_change", run.pk)
        messages.success(request, f"Run {retry.pk} retries run {run.pk} from its failed step.")
        return redirect("admin:workflows_run_change", retry.pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = get_object_or_404(Run, pk=object_id)
        extra_context = {
            **(extra_context or {}),
            "run": run,
            "step_runs": [
                {
                    "step_run": step_run,
                    "request": _pretty(step_run.request),
                    "response": _pretty(step_run.response_body),
                }
                for step_run in run.step_runs.order_by("position")
            ],
            "can_retry": run.status == Run.Status.FAILED and self.has_retry_permission(request),
            "retry_url": reverse("admin:workflows_run_retry", args=[run.pk]),
        }
        return super().change_view(request, object_id, form_url, extra_context)
