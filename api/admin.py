from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from api import console
from api.forms import ApiConsoleForm
from api.models import RequestLog


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    """Read-only: the log is written by the proxy only. Also home of the API console (its own permission)."""

    change_list_template = "admin/api/requestlog/change_list.html"
    list_display = (
        "created_at",
        "end_user",
        "source",
        "tool",
        "staff_username",
        "method",
        "path",
        "query_names",
        "status_code",
        "error_code",
        "attempts",
        "duration_ms",
    )
    list_filter = ("source", "tool", "method", "status_code", "error_code", "created_at")
    search_fields = (
        "path",
        "query_names",
        "end_user__external_id",
        "end_user__display_name",
        "staff_username",
    )
    date_hierarchy = "created_at"
    list_select_related = ("end_user",)
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_use_console": request.user.has_perm(console.PERMISSION),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("console/", self.admin_site.admin_view(self.console_view), name="api_console"),
            *super().get_urls(),
        ]

    def console_view(self, request):
        """Pick a connection, a method, a Sage path and a JSON body; writes are sent only once confirmed."""
        if not request.user.has_perm(console.PERMISSION):
            raise PermissionDenied
        form = ApiConsoleForm(request.POST or None, initial={"connection": request.GET.get("connection")})
        answer = confirming = None
        # "_edit" (from the confirmation) shows the form again with what was typed, and sends nothing.
        if request.method == "POST" and form.is_valid() and "_edit" not in request.POST:
            if form.is_write and "_confirm" not in request.POST:
                confirming = form.cleaned_data
            else:
                answer = console.send(
                    connection=form.cleaned_data["connection"],
                    method=form.cleaned_data["method"],
                    path=form.cleaned_data["path"],
                    body=form.cleaned_data["body"],
                    staff_username=request.user.get_username(),
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "API console",
            "opts": RequestLog._meta,
            "form": form,
            "confirming": confirming,
            "answer": answer,
        }
        return TemplateResponse(request, "admin/api/console.html", context)
