"""API keys in the admin: created with a name, shown once, revoked (never edited)."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from projects.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "visible_prefix", "created_at", "created_by", "last_used_at", "state")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "visible_prefix")
    actions = ["revoke_keys"]
    fields = ("name",)
    readonly_fields = ("visible_prefix", "created_at", "created_by", "last_used_at", "revoked_at")

    def get_fields(self, request, obj=None):
        return ("name",) if obj is None else ("name", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # A key's name is the only thing a person chooses, and only when creating it.
        return () if obj is None else ("name", *self.readonly_fields)

    @admin.display(description="state")
    def state(self, obj: ApiKey) -> str:
        return f"revoked {obj.revoked_at:%Y-%m-%d %H:%M}" if obj.revoked_at else "active"

    def save_model(self, request, obj, form, change):
        if change:
            return
        obj._key_shown_once = obj.generate_key()
        obj.created_by = request.user
        obj.save()

    def response_add(self, request, obj, post_url_continue=None):
        # The key is rendered into this one answer and nowhere else: not in a message (messages travel in a
        # cookie or the session), not in a redirect URL, not in the log.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API key created",
            "api_key": obj,
            "key": obj._key_shown_once,
        }
        response = TemplateResponse(request, "projects/api_key_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request, queryset):
        revoked = 0
        for api_key in queryset.usable():
            api_key.revoke()
            revoked += 1
        self.message_user(
            request, f"{revoked} API key(s) revoked; they stop working at once.", messages.SUCCESS
        )
