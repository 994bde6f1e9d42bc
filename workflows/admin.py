"""Workflows in the admin: the builder (steps inline), triggers, and the run history."""

from django.contrib import admin

from workflows.models import Run, Step, StepRun, Workflow


class StepInline(admin.StackedInline):
    model = Step
    extra = 0
    fields = [("position", "key"), ("method", "path"), "query", "body", ("on_error", "retry", "max_attempts")]


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "event_name", "run_on_connect", "schedule_cron"]
    inlines = [StepInline]


class StepRunInline(admin.TabularInline):
    model = StepRun
    extra = 0
    can_delete = False
    fields = ["position", "key", "method", "status", "response_status", "attempts", "duration_ms", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["id", "workflow", "end_user", "trigger", "status", "created_at"]
    list_filter = ["status", "trigger", "workflow"]
    inlines = [StepRunInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
