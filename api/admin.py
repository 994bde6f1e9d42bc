from django.contrib import admin

from api.models import RequestLog


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    """Read-only: the log is written by the proxy only."""

    list_display = (
        "created_at",
        "end_user",
        "source",
        "tool",
        "method",
        "path",
        "query_names",
        "status_code",
        "error_code",
        "attempts",
        "duration_ms",
    )
    list_filter = ("source", "tool", "method", "status_code", "error_code", "created_at")
    search_fields = ("path", "query_names", "end_user__external_id", "end_user__display_name")
    date_hierarchy = "created_at"
    list_select_related = ("end_user",)
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
